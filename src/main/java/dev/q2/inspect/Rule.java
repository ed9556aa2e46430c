package dev.q2.inspect;

/**
 * The rules {@link Inspector} applies, each with a stable kebab-case id (the {@code rule} of a {@link Finding}).
 * Ids are never renamed or reused; docs/security.md describes each one.
 */
public enum Rule {
    /** The image names a backing file (a path, a {@code json:} name or a protocol URL), with its format. */
    BACKING_FILE("backing-file"),
    /** A qcow2 image whose guest data lives in an external data file. */
    DATA_FILE("data-file"),
    /** A VMDK descriptor whose extents are other files (or devices). */
    VMDK_EXTENT("vmdk-extent"),
    /** The format declared with {@code -f} is not the format qemu-img probes. */
    FORMAT_MISMATCH("format-mismatch"),
    /** The file also carries another format's signature where QEMU looks for one. */
    FOREIGN_SIGNATURE("foreign-signature"),
    /** Incompatible feature bits QEMU does not know (it refuses the image). */
    UNKNOWN_INCOMPATIBLE_FEATURES("unknown-incompatible-features"),
    /** The qcow2 corrupt bit: QEMU opens the image read-only only. */
    CORRUPT_BIT("corrupt-bit"),
    /** The qcow2 dirty bit (or QED's need-check): refcounts may be wrong; QEMU repairs them on a writable open. */
    DIRTY_BIT("dirty-bit"),
    /** The image is encrypted (qcow2 AES or LUKS, qcow AES, a LUKS volume); the method is reported. */
    ENCRYPTION("encryption"),
    /** Metadata (a table, an L2 table, a refcount block, a bitmap table, ...) lies outside the file. */
    METADATA_OUTSIDE_FILE("metadata-outside-file"),
    /** Metadata overlaps the header or other metadata, or is misaligned. */
    METADATA_OVERLAP("metadata-overlap"),
    /** Metadata QEMU refuses when it opens the image (its message is reported). */
    INVALID_METADATA("invalid-metadata"),
    /** The structural checks of {@code check} (run on this file alone) found corruptions or could not complete. */
    CHECK_CORRUPTION("check-corruption"),
    /** A virtual size past QEMU's limits. */
    VIRTUAL_SIZE_LIMIT("virtual-size-limit"),
    /** Tables referenced so often that walking them would read far more than the file: not checked further. */
    METADATA_AMPLIFICATION("metadata-amplification"),
    /** A persistent bitmap marked in use: the image was not closed cleanly and the bitmap is inconsistent. */
    BITMAP_IN_USE("bitmap-in-use"),
    /** A format q2 can name but whose header it cannot read (dmg, cloop, bochs): nothing could be verified. */
    UNINSPECTABLE_FORMAT("uninspectable-format");

    private final String id;

    Rule(String id) {
        this.id = id;
    }

    /** The stable kebab-case id. */
    public String id() {
        return id;
    }
}
