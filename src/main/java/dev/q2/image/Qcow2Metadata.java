package dev.q2.image;

import dev.q2.format.BitmapDirectory;
import dev.q2.format.BitmapDirectoryEntry;
import dev.q2.format.BitmapsExtension;
import dev.q2.format.CStrings;
import dev.q2.format.CryptoHeaderPointer;
import dev.q2.format.FeatureNameTable;
import dev.q2.format.Features;
import dev.q2.format.FormatException;
import dev.q2.format.HeaderExtension;
import dev.q2.format.Limits;
import dev.q2.format.QcowHeader;
import dev.q2.format.SnapshotEntry;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The metadata of a qcow2 image, read once and validated: its header, header extensions, active L1 table, refcount
 * table, snapshot table and bitmap directory, checked in the order QEMU checks them on open, so that the first error
 * reported is the one qemu-img reports. Every size field is bounded before memory is allocated from it. This is what
 * info, check, measure and map read; guest I/O (reads, writes, the L2 cache, allocation) is {@link Qcow2Disk}, which
 * is opened from it. (Called Qcow2Metadata before session 4.)
 *
 * <p>Encrypted images: q2 has no keys, so it opens them the way QEMU opens an image without a secret. An open for
 * guest data ({@link #load}, {@link #loadForCheck}, {@link #openReadOnly}) refuses them as qemu-img does without
 * {@code --object secret}; a metadata open ({@link #loadMetadata}, {@link #openMetadata}, what qemu-img info and
 * create's backing file probe do with BDRV_O_NO_IO) decodes and checks the LUKS header and keeps it in
 * {@link #encryption}. Either way ciphertext is never read as guest data.
 */
public final class Qcow2Metadata implements AutoCloseable {
    private final ImageFile file;
    private final QcowHeader header;
    private final List<HeaderExtension> extensions;
    private final String backingFile;
    private final long[] l1Table;
    private final long[] refcountTable;
    private List<SnapshotEntry> snapshots;
    private final List<BitmapDirectoryEntry> bitmaps;
    private Encryption encryption;
    private long snapshotTableSize;

    private Qcow2Metadata(ImageFile file, QcowHeader header, List<HeaderExtension> extensions, String backingFile,
                       long[] l1Table, long[] refcountTable, List<SnapshotEntry> snapshots,
                       List<BitmapDirectoryEntry> bitmaps) {
        this.file = file;
        this.header = header;
        this.extensions = extensions;
        this.backingFile = backingFile;
        this.l1Table = l1Table;
        this.refcountTable = refcountTable;
        this.snapshots = snapshots;
        this.bitmaps = bitmaps;
    }

    /** Opens an image read-only for its guest data (encrypted images are refused). The caller closes it. */
    public static Qcow2Metadata openReadOnly(Path path) throws IOException {
        return open(path, false);
    }

    /** Opens an image read-only for its metadata only (encrypted images are accepted). The caller closes it. */
    public static Qcow2Metadata openMetadata(Path path) throws IOException {
        return open(path, true);
    }

    private static Qcow2Metadata open(Path path, boolean metadataOnly) throws IOException {
        ImageFile f = ImageFile.openReadOnly(path);
        try {
            return load(f, false, metadataOnly);
        } catch (RuntimeException | IOException e) {
            f.close();
            throw e;
        }
    }

    /**
     * Reads and validates the metadata of an already opened file, for access to its guest data: an encrypted image
     * is refused with qemu-img's "Parameter 'encrypt.key-secret' is required for cipher".
     */
    public static Qcow2Metadata load(ImageFile f) throws IOException {
        return load(f, false, false);
    }

    /**
     * Reads and validates the metadata of an already opened file for access to its guest data with a key secret
     * given: an encrypted image is accepted (its LUKS header decoded and checked) for the caller to unlock.
     */
    public static Qcow2Metadata loadWithKey(ImageFile f) throws IOException {
        return load(f, false, false, true, false);
    }

    /**
     * Reads and validates the metadata of an already opened file for access to its guest data, as the engine's
     * opener does: with a key secret given or not, and with the user's {@code data-file} option or not (given, an
     * image with an external data file need not name one, as QEMU opens the data-file child the user describes).
     */
    public static Qcow2Metadata loadForOpen(ImageFile f, boolean keyGiven, boolean dataFileGiven)
            throws IOException {
        return load(f, false, false, keyGiven, dataFileGiven);
    }

    /**
     * Reads and validates the metadata of an already opened file without giving access to guest data, as qemu-img
     * info opens images: an encrypted image is accepted, its LUKS header decoded and checked.
     */
    public static Qcow2Metadata loadMetadata(ImageFile f) throws IOException {
        return load(f, false, true);
    }

    /**
     * Loads an image for qemu-img check: as QEMU's open with BDRV_O_CHECK, the snapshot table is neither validated
     * nor read (the check reads it itself, reporting and repairing what is wrong with it, and then calls
     * {@link #replaceSnapshots}).
     */
    public static Qcow2Metadata loadForCheck(ImageFile f) throws IOException {
        return load(f, true, false);
    }

    /**
     * {@link #loadForCheck} for an image opened with a key secret ({@code encrypt.key-secret}): an encrypted image is
     * accepted, as by {@link #loadWithKey}; the caller unlocks its key ({@link EncryptionKeys#unlock}).
     */
    public static Qcow2Metadata loadForCheckWithKey(ImageFile f) throws IOException {
        return load(f, true, false, true, false);
    }

    private static Qcow2Metadata load(ImageFile f, boolean forCheck, boolean metadataOnly) throws IOException {
        return load(f, forCheck, metadataOnly, false, false);
    }

    private static Qcow2Metadata load(ImageFile f, boolean forCheck, boolean metadataOnly, boolean keyGiven,
            boolean dataFileGiven) throws IOException {
        long fileSize = f.size();
        // QEMU reads the header as a block of bytes, zeros past the end of a short file, and checks it in this order
        ByteBuffer first = ByteBuffer.allocate(QcowHeader.V3_HEADER_LENGTH);
        f.readZeroFilled(0, first);
        first.clear();
        if (first.getInt(0) != QcowHeader.MAGIC) {
            throw new ImageException("Image is not in qcow2 format");
        }
        int version = first.getInt(4);
        if (version == 2 || version == 3) {
            int clusterBits = first.getInt(20);
            if (clusterBits < QcowHeader.MIN_CLUSTER_BITS || clusterBits > QcowHeader.MAX_CLUSTER_BITS) {
                throw new ImageException("Unsupported cluster size: 2^" + clusterBits);
            }
            if (version == 3 && Integer.compareUnsigned(first.getInt(100), 104) < 0) {
                throw new ImageException("qcow2 header too short");
            }
        }
        QcowHeader h;
        try {
            h = QcowHeader.decode(first);
        } catch (FormatException e) {
            throw new ImageException(e.getMessage());
        }
        if (h.clusterBits() < QcowHeader.MIN_CLUSTER_BITS || h.clusterBits() > QcowHeader.MAX_CLUSTER_BITS) {
            throw new ImageException("Unsupported cluster size: 2^" + h.clusterBits());
        }
        long cs = h.clusterSize();
        if (h.version() == 3 && Integer.toUnsignedLong(h.headerLength()) > cs) {
            throw new ImageException("qcow2 header exceeds cluster size");
        }
        if (Long.compareUnsigned(h.backingFileOffset(), cs) > 0) {
            throw new ImageException("Invalid backing file offset");
        }

        // The header extension area ends at the backing file name, or at the end of the first cluster.
        long extEnd = h.backingFileOffset() != 0 ? h.backingFileOffset() : cs;
        long extStart = h.version() == 2 ? QcowHeader.V2_HEADER_LENGTH : h.headerLength();
        List<HeaderExtension> extensions = List.of();
        List<HeaderExtension> readable = new ArrayList<>();
        FormatException extensionError = null;
        if (extEnd > extStart) {
            ByteBuffer area = ByteBuffer.allocate((int) (extEnd - extStart));
            f.readZeroFilled(extStart, area);
            area.flip();
            try {
                extensions = Collections.unmodifiableList(HeaderExtension.decodeAll(area, readable));
            } catch (FormatException e) {
                extensionError = e;
            }
        }
        long unknown = h.incompatibleFeatures() & ~Features.INCOMPAT_KNOWN;
        if (unknown != 0) {
            // QEMU names them from the extensions it could read, ignoring an error in the extensions here
            var ext = HeaderExtension.last(readable, HeaderExtension.FEATURE_NAME_TABLE);
            FeatureNameTable names = ext.isPresent() ? FeatureNameTable.decode(ext.get().data())
                    : new FeatureNameTable(List.of());
            throw new ImageException("Unsupported qcow2 feature(s): " + describeUnknown(unknown, names));
        }
        if (extensionError != null) {
            throw new ImageException(extensionError.getMessage());
        }
        if (Integer.compareUnsigned(h.refcountOrder(), 6) > 0) { // uint32_t in QEMU: "negative" is too large
            throw new ImageException("Reference count entry width too large; may not exceed 64 bits");
        }
        // validate_compression_type, with its messages
        if (h.compressionType() > QcowHeader.COMPRESSION_ZSTD) {
            throw new ImageException("qcow2: unknown compression type: " + h.compressionType());
        }
        if ((h.compressionType() != QcowHeader.COMPRESSION_ZLIB) != h.hasFeature(Features.INCOMPAT_COMPRESSION)) {
            throw new ImageException("qcow2: Compression type incompatible feature bit must "
                    + (h.compressionType() == QcowHeader.COMPRESSION_ZLIB ? "not " : "") + "be set");
        }
        if (h.extendedL2() && h.clusterBits() < 14) {
            throw new ImageException("Extended L2 entries are only supported with cluster sizes of at least 16384"
                    + " bytes");
        }

        long reftableBytes = Integer.toUnsignedLong(h.refcountTableClusters()) * cs;
        if (reftableBytes > Limits.MAX_REFTABLE_SIZE) {
            throw new ImageException("Reference count table too large");
        }
        checkTableOffset(h.refcountTableOffset(), reftableBytes, cs, "Reference count table offset invalid");

        if (!forCheck) {
            if (Integer.toUnsignedLong(h.nbSnapshots()) > Limits.MAX_SNAPSHOTS) {
                throw new ImageException("Snapshot table too large"); // qcow2_validate_table's words
            }
            checkTableOffset(h.snapshotsOffset(), Integer.toUnsignedLong(h.nbSnapshots()) * SnapshotEntry.FIXED_SIZE,
                    cs, "Snapshot table offset invalid");
        }

        long l1Entries = Integer.toUnsignedLong(h.l1Size());
        if (l1Entries > Limits.MAX_L1_SIZE / 8) {
            throw new ImageException("Active L1 table too large");
        }
        long l2Coverage = cs << h.l2Bits();
        if (h.size() < 0 || ceilDiv(h.size(), l2Coverage) > Integer.MAX_VALUE) {
            throw new ImageException("Image is too big");
        }
        if (l1Entries < ceilDiv(h.size(), l2Coverage)) {
            throw new ImageException("L1 table is too small");
        }
        checkTableOffset(h.l1TableOffset(), l1Entries * 8, cs, "Active L1 table offset invalid");

        long[] l1 = readTable(f, h.l1TableOffset(), (int) l1Entries, fileSize, "Active L1 table");
        long[] reftable = readTable(f, h.refcountTableOffset(), (int) (reftableBytes / 8), fileSize,
                "Reference count table");
        Encryption encryption = Encryption.read(f, h, extensions, fileSize, metadataOnly || keyGiven);
        if (!metadataOnly && !dataFileGiven && h.hasFeature(Features.INCOMPAT_DATA_FILE)
                && HeaderExtension.last(extensions, HeaderExtension.EXTERNAL_DATA_FILE).isEmpty()) {
            // opened for I/O, QEMU opens the external data file with the image and fails without its name
            throw new ImageException("'data-file' is required for this image");
        }

        String backing = null;
        if (h.backingFileOffset() != 0) {
            long len = Integer.toUnsignedLong(h.backingFileSize());
            if (len > Limits.MAX_BACKING_FILE_NAME || len > cs - h.backingFileOffset()) {
                throw new ImageException("Backing file name too long");
            }
            ByteBuffer name = ByteBuffer.allocate((int) len);
            f.readZeroFilled(h.backingFileOffset(), name);
            backing = CStrings.decode(name.array()); // a C string to QEMU
            if (backing.isEmpty()) {
                backing = null; // as QEMU: an empty name is no backing file
            }
        }

        long[] snapshotTableSize = new long[1];
        List<SnapshotEntry> snaps = forCheck ? List.of() : readSnapshots(f, h, fileSize, snapshotTableSize);
        List<BitmapDirectoryEntry> bitmaps = readBitmaps(f, h, extensions, fileSize);
        Qcow2Metadata img = new Qcow2Metadata(f, h, extensions, backing, l1, reftable, snaps, bitmaps);
        img.snapshotTableSize = snapshotTableSize[0];
        img.encryption = encryption;
        return img;
    }

    private static String describeUnknown(long bits, FeatureNameTable names) {
        // report_unsupported_feature: the table's names in its order, then the bits it does not name
        StringBuilder sb = new StringBuilder();
        long rest = bits;
        for (FeatureNameTable.Entry e : names.entries()) {
            long mask = 1L << e.bit(); // a bit number of 64 or more wraps as the C shift does on x86-64
            if (e.type() == Features.TYPE_INCOMPATIBLE && (rest & mask) != 0) {
                sb.append(sb.length() == 0 ? "" : ", ").append(e.name());
                rest &= ~mask;
            }
        }
        if (rest != 0) {
            sb.append(sb.length() == 0 ? "" : ", ").append("Unknown incompatible feature: ")
                    .append(Long.toHexString(rest));
        }
        return sb.toString();
    }

    private static void checkTableOffset(long offset, long bytes, long cs, String message) throws IOException {
        if ((offset & (cs - 1)) != 0 || offset < 0 || offset > Long.MAX_VALUE - bytes) {
            throw new ImageException(message);
        }
    }

    /**
     * Reads a table of big-endian 64-bit entries. QEMU reads such a table past the end of the file as zeros; q2
     * refuses instead, since a table outside the file means the image is truncated or the header is corrupt.
     */
    private static long[] readTable(ImageFile f, long offset, int entries, long fileSize, String what)
            throws IOException {
        if (entries == 0) {
            return new long[0];
        }
        if (offset + (long) entries * 8 > fileSize) {
            throw new ImageException(what + " at offset " + offset + " runs past the end of the file (" + fileSize
                    + " bytes); the image is truncated or its header is corrupt");
        }
        ByteBuffer buf = ByteBuffer.allocate(entries * 8);
        f.readFully(offset, buf);
        buf.flip();
        long[] out = new long[entries];
        buf.order(ByteOrder.BIG_ENDIAN).asLongBuffer().get(out);
        return out;
    }

    private static List<SnapshotEntry> readSnapshots(ImageFile f, QcowHeader h, long fileSize, long[] tableSize)
            throws IOException {
        int n = h.nbSnapshots();
        if (n == 0) {
            return List.of();
        }
        if (h.snapshotsOffset() > (Long.MAX_VALUE & ~((1L << 30) - 1)) - SnapshotEntry.FIXED_SIZE) {
            throw new ImageException("Failed to read snapshot table: Input/output error"); // the block layer refuses
        }
        // Entries have variable length; read up to the table's maximum size, bounded by the file. Past the end of
        // the file QEMU reads zeros: there only the entry that straddles the end can be longer than the fixed part
        // (its id, name and extra data), every later one is a 40-byte entry of zeros.
        long inFile = Math.max(0, fileSize - h.snapshotsOffset());
        long pastEnd = (long) n * SnapshotEntry.FIXED_SIZE + 2 * 0xffffL + SnapshotEntry.MAX_EXTRA_DATA + 8;
        long max = Math.min(Limits.MAX_SNAPSHOTS_SIZE, inFile + pastEnd);
        ByteBuffer buf = ByteBuffer.allocate((int) max);
        f.readZeroFilled(h.snapshotsOffset(), buf);
        buf.flip();
        List<SnapshotEntry> out = new ArrayList<>(n);
        long end = 0;
        for (int i = 0; i < n; i++) {
            int start = buf.position();
            if (buf.remaining() >= SnapshotEntry.FIXED_SIZE) {
                // QEMU's snapshots_size ends at the last entry's name, without its padding
                long extra = Integer.toUnsignedLong(buf.getInt(start + 36));
                if (extra > SnapshotEntry.MAX_EXTRA_DATA) { // qcow2_read_snapshots' words, with its hint
                    throw new ImageException("Too much extra metadata in snapshot table entry " + i
                            + "\nYou can force-remove this extra metadata with qemu-img check -r all");
                }
                end = start + SnapshotEntry.FIXED_SIZE + extra + (buf.getShort(start + 12) & 0xffff)
                        + (buf.getShort(start + 14) & 0xffff);
            }
            if (Math.max(end, start + SnapshotEntry.FIXED_SIZE) > Limits.MAX_SNAPSHOTS_SIZE) {
                throw new ImageException("Snapshot table is too big\nYou can force-remove all "
                        + Integer.toUnsignedLong(n - i) + " overhanging snapshots with qemu-img check -r all");
            }
            try {
                out.add(SnapshotEntry.decode(buf));
            } catch (FormatException e) {
                throw new ImageException("Snapshot table entry " + i + ": " + e.getMessage());
            }
        }
        tableSize[0] = end;
        return Collections.unmodifiableList(out);
    }

    private static List<BitmapDirectoryEntry> readBitmaps(ImageFile f, QcowHeader h, List<HeaderExtension> exts,
                                                          long fileSize) throws IOException {
        // QEMU checks every bitmaps extension in order and keeps the last (qcow2_read_extensions)
        BitmapsExtension b = null;
        for (HeaderExtension ext : exts) {
            if (ext.type() != HeaderExtension.BITMAPS) {
                continue;
            }
            if (ext.data().length != BitmapsExtension.LENGTH) {
                throw new ImageException("bitmaps_ext: Invalid extension length"); // checked before the autoclear bit
            }
            if ((h.autoclearFeatures() & Features.AUTOCLEAR_BITMAPS) == 0) {
                continue; // QEMU ignores a bitmaps extension whose autoclear bit was cleared
            }
            try {
                b = BitmapsExtension.decodeChecked(ext.data(), h.clusterSize(), Limits.MAX_BITMAPS,
                        Limits.MAX_BITMAP_DIRECTORY_SIZE);
            } catch (FormatException e) {
                throw new ImageException(e.getMessage());
            }
        }
        if (b == null) {
            return List.of();
        }
        List<BitmapDirectoryEntry> out;
        try {
            long offset = b.bitmapDirectoryOffset();
            int size = (int) b.bitmapDirectorySize(); // at most 64 MiB, checked above
            if (offset < 0 || offset > (Long.MAX_VALUE & ~((1L << 30) - 1)) - size) {
                throw new ImageException("Failed to read bitmap directory: Input/output error");
            }
            ByteBuffer buf = ByteBuffer.allocate(size);
            f.readZeroFilled(offset, buf); // past the end of the file: zeros, as QEMU reads it
            buf.flip();
            out = BitmapDirectory.decode(buf, Integer.toUnsignedLong(b.nbBitmaps()), h.clusterSize(),
                    (h.size() >>> 9) << 9);
        } catch (FormatException e) {
            throw new ImageException(e.getMessage());
        }
        for (BitmapDirectoryEntry bm : out) {
            checkBitmapTable(f, bm, h.clusterSize());
        }
        return Collections.unmodifiableList(out);
    }

    private static final long BME_TABLE_ENTRY_RESERVED_MASK = 0xff000000000001feL;
    private static final long BME_TABLE_ENTRY_OFFSET_MASK = 0x00fffffffffffe00L;
    /** The largest offset QEMU's block layer accepts for a request (BDRV_MAX_LENGTH). */
    private static final long BDRV_MAX_LENGTH = Long.MAX_VALUE & ~((1L << 30) - 1);

    /**
     * QEMU loads every bitmap that is not in use when it opens an image (even read-only, even for a check) and
     * refuses the image when a bitmap table entry has reserved bits set, is not cluster aligned, or combines an
     * offset with the all-ones flag (bitmap_table_load/check_table_entry). The table is read in chunks; parts past
     * the end of the file read as zeros, as in QEMU.
     */
    private static void checkBitmapTable(ImageFile f, BitmapDirectoryEntry bm, long cs) throws IOException {
        long entries = Integer.toUnsignedLong(bm.bitmapTableSize());
        if (bm.inUse() || entries > BitmapDirectoryEntry.MAX_TABLE_SIZE) {
            return;
        }
        long at = bm.bitmapTableOffset();
        if (at < 0 || at > BDRV_MAX_LENGTH - entries * 8) {
            // the block layer refuses the read (bit 63 set, or past BDRV_MAX_LENGTH)
            throw new ImageException("Could not read bitmap_table table from image for bitmap '" + bm.name()
                    + "': Input/output error");
        }
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(entries, 65536) * 8).order(ByteOrder.BIG_ENDIAN);
        for (long first = 0; first < entries; first += 65536) {
            int n = (int) Math.min(65536, entries - first);
            buf.clear().limit(n * 8);
            f.readZeroFilled(bm.bitmapTableOffset() + first * 8, buf);
            for (int i = 0; i < n; i++) {
                long e = buf.getLong(i * 8);
                long offset = e & BME_TABLE_ENTRY_OFFSET_MASK;
                if ((e & BME_TABLE_ENTRY_RESERVED_MASK) != 0
                        || (offset != 0 && ((e & 1) != 0 || (offset & (cs - 1)) != 0))) {
                    throw new ImageException("Could not read bitmap_table table from image for bitmap '"
                            + bm.name() + "': Invalid argument");
                }
            }
        }
    }

    static long ceilDiv(long a, long b) {
        return a / b + (a % b != 0 ? 1 : 0);
    }

    public ImageFile file() {
        return file;
    }

    public Path path() {
        return file.path();
    }

    public QcowHeader header() {
        return header;
    }

    public List<HeaderExtension> extensions() {
        return extensions;
    }

    /**
     * This image as re-read after q2 rewrote its header, with the unknown extensions in the order of
     * {@code opened}, the image as first read by the same open. QEMU reads the extensions once and writes the
     * unknown ones back in reverse order at every header update (see HeaderCluster.canonicalOrder); a command that
     * re-reads the header between two updates must not reverse them twice.
     */
    public Qcow2Metadata withUnknownExtensionsOf(Qcow2Metadata opened) {
        List<HeaderExtension> exts = new ArrayList<>();
        for (HeaderExtension e : extensions) {
            if (HeaderExtension.isKnown(e.type())) {
                exts.add(e);
            }
        }
        for (HeaderExtension e : opened.extensions) {
            if (!HeaderExtension.isKnown(e.type())) {
                exts.add(e);
            }
        }
        Qcow2Metadata m = new Qcow2Metadata(file, header, Collections.unmodifiableList(exts), backingFile, l1Table,
                refcountTable, snapshots, bitmaps);
        m.encryption = encryption;
        m.snapshotTableSize = snapshotTableSize;
        return m;
    }

    /** The backing file name as stored in the image, or null. */
    public String backingFile() {
        return backingFile;
    }

    /** The backing format from the backing format extension, or null (also when it is empty: QEMU then probes). */
    public String backingFormat() {
        // no Optional.map/filter with lambdas on the open path: see HeaderExtension.first
        var ext = HeaderExtension.last(extensions, HeaderExtension.BACKING_FORMAT);
        String f = ext.isPresent() ? ext.get().dataAsString() : null;
        return f == null || f.isEmpty() ? null : f;
    }

    /** The external data file name from its extension (the last one, as QEMU reads them), or null. */
    public String dataFile() {
        var ext = HeaderExtension.last(extensions, HeaderExtension.EXTERNAL_DATA_FILE);
        return ext.isPresent() ? ext.get().dataAsString() : null;
    }

    /**
     * The image's encryption, null when it is not encrypted. Only a metadata open returns encrypted images at all
     * (see the class comment).
     */
    public Encryption encryption() {
        return encryption;
    }

    public CryptoHeaderPointer cryptoHeader() throws IOException {
        var ext = HeaderExtension.first(extensions, HeaderExtension.FULL_DISK_ENCRYPTION);
        return ext.isPresent() ? CryptoHeaderPointer.decode(ext.get().data()) : null;
    }

    public FeatureNameTable featureNameTable() {
        var ext = HeaderExtension.last(extensions, HeaderExtension.FEATURE_NAME_TABLE);
        return ext.isPresent() ? FeatureNameTable.decode(ext.get().data()) : null;
    }

    /** The active L1 table (a copy is not made: callers must not change it). */
    public long[] l1Table() {
        return l1Table;
    }

    /**
     * An internal snapshot's L1 table as QEMU's qcow2_snapshot_load_tmp reads it: validated as qcow2_validate_table
     * validates it ({@link SnapshotL1Exception}: "Snapshot L1 table too large" past QCOW_MAX_L1_SIZE, "Snapshot L1
     * table offset invalid" for an offset that is not cluster-aligned or whose table would end past 2^63 - 1), then
     * read, zeros where it lies past the end of the file (as QEMU's block layer reads there).
     *
     * @param sn the snapshot
     * @return its L1 entries
     * @throws IOException when the file cannot be read
     */
    public long[] snapshotL1Table(SnapshotEntry sn) throws IOException {
        long entries = Integer.toUnsignedLong(sn.l1Size());
        if (entries > Limits.MAX_L1_SIZE / 8) {
            throw new SnapshotL1Exception("Snapshot L1 table too large", false);
        }
        long offset = sn.l1TableOffset();
        if ((offset & (clusterSize() - 1)) != 0 || offset < 0 || offset > Long.MAX_VALUE - entries * 8) {
            throw new SnapshotL1Exception("Snapshot L1 table offset invalid", true);
        }
        ByteBuffer b = ByteBuffer.allocate((int) entries * 8).order(java.nio.ByteOrder.BIG_ENDIAN);
        file.readZeroFilled(offset, b);
        long[] table = new long[(int) entries];
        for (int i = 0; i < table.length; i++) {
            table[i] = b.getLong(i * 8);
        }
        return table;
    }

    /**
     * A snapshot's L1 table that QEMU refuses; {@link #invalid()} tells its EINVAL (a bad offset, after which QEMU's
     * lookup by ID or name tries the name) from its EFBIG (too large).
     */
    public static final class SnapshotL1Exception extends ImageException {
        private final boolean invalid;

        SnapshotL1Exception(String message, boolean invalid) {
            super(message);
            this.invalid = invalid;
        }

        /** @return whether QEMU fails with EINVAL (else EFBIG) */
        public boolean invalid() {
            return invalid;
        }
    }

    public long[] refcountTable() {
        return refcountTable;
    }

    public List<SnapshotEntry> snapshots() {
        return snapshots;
    }

    public List<BitmapDirectoryEntry> bitmaps() {
        return bitmaps;
    }

    /** Sets the snapshot table as the check read it (see {@link #loadForCheck}). */
    public void replaceSnapshots(List<SnapshotEntry> entries, long tableSize) {
        this.snapshots = List.copyOf(entries);
        this.snapshotTableSize = tableSize;
    }

    /** Bytes the snapshot table takes in the file (every entry with its padding): QEMU's snapshots_size. */
    public long snapshotTableSize() {
        return snapshotTableSize;
    }

    /** The bitmaps header extension when QEMU honours it (autoclear bit set), or null. */
    public BitmapsExtension bitmapsExtension() throws IOException {
        var ext = HeaderExtension.last(extensions, HeaderExtension.BITMAPS);
        if (ext.isEmpty() || (header.autoclearFeatures() & Features.AUTOCLEAR_BITMAPS) == 0) {
            return null;
        }
        return BitmapsExtension.decode(ext.get().data());
    }

    public long virtualSize() {
        return header.size();
    }

    public long clusterSize() {
        return header.clusterSize();
    }

    /**
     * Reads the whole L2 table at {@code l2Offset} (a host offset from an L1 entry). Fails if it lies outside the
     * file or is not cluster aligned.
     */
    public L2Table readL2Table(long l2Offset) throws IOException {
        long cs = header.clusterSize();
        if ((l2Offset & (cs - 1)) != 0) {
            throw new ImageException("L2 table offset " + l2Offset + " is not cluster aligned");
        }
        ByteBuffer buf = ByteBuffer.allocate((int) cs);
        file.readFully(l2Offset, buf);
        buf.clear();
        return new L2Table(buf, header.extendedL2());
    }

    /** Number of L2 tables the active L1 table points to. */
    public long allocatedL2Tables() {
        long n = 0;
        for (long e : l1Table) {
            if (dev.q2.format.L1Entry.l2Offset(e) != 0) {
                n++;
            }
        }
        return n;
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
