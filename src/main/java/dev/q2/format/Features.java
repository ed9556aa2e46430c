package dev.q2.format;

/** Feature bits of the qcow2 v3 header (spec: incompatible_features, compatible_features, autoclear_features). */
public final class Features {
    private Features() {
    }

    public static final int TYPE_INCOMPATIBLE = 0;
    public static final int TYPE_COMPATIBLE = 1;
    public static final int TYPE_AUTOCLEAR = 2;

    /** incompatible bit 0: refcounts may be inconsistent (lazy refcounts in use). */
    public static final long INCOMPAT_DIRTY = 1L;
    /** incompatible bit 1: metadata is corrupt; the image must only be opened read-only. */
    public static final long INCOMPAT_CORRUPT = 1L << 1;
    /** incompatible bit 2: guest data lives in an external data file. */
    public static final long INCOMPAT_DATA_FILE = 1L << 2;
    /** incompatible bit 3: the header's compression_type field is valid. */
    public static final long INCOMPAT_COMPRESSION = 1L << 3;
    /** incompatible bit 4: L2 entries are 128 bits with a subcluster bitmap. */
    public static final long INCOMPAT_EXTL2 = 1L << 4;
    public static final long INCOMPAT_KNOWN = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE
            | INCOMPAT_COMPRESSION | INCOMPAT_EXTL2;

    /** compatible bit 0: lazy refcounts. */
    public static final long COMPAT_LAZY_REFCOUNTS = 1L;

    /** autoclear bit 0: the bitmaps extension is consistent. */
    public static final long AUTOCLEAR_BITMAPS = 1L;
    /** autoclear bit 1: the external data file reads as a raw image of the guest disk. */
    public static final long AUTOCLEAR_DATA_FILE_RAW = 1L << 1;
    /** The autoclear bits QEMU knows (QCOW2_AUTOCLEAR_MASK); a read-write open clears all others. */
    public static final long AUTOCLEAR_KNOWN = AUTOCLEAR_BITMAPS | AUTOCLEAR_DATA_FILE_RAW;
}
