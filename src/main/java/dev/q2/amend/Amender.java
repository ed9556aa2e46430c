package dev.q2.amend;

import dev.q2.Q2Exception.Category;
import dev.q2.create.Preallocation;
import dev.q2.format.Features;
import dev.q2.format.HeaderExtension;
import dev.q2.format.L1Entry;
import dev.q2.format.L2Entry;
import dev.q2.format.QcowHeader;
import dev.q2.format.SnapshotEntry;
import dev.q2.image.HeaderWriter;
import dev.q2.image.Qcow2Metadata;
import dev.q2.image.RefcountAllocator;
import dev.q2.io.ImageFile;
import dev.q2.resize.ResizeException;
import dev.q2.resize.Resizer;
import dev.q2.util.Sizes;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * qemu-img amend for qcow2 images (qcow2_amend_options): the options are applied in QEMU's order (upgrade first,
 * then the refcount width, the data file options and a header rewrite, the backing file check, lazy refcounts, the
 * size, the downgrade last), with QEMU's refusals in its words. Each step writes what QEMU writes, so a refusal
 * after an earlier step leaves the file as qemu-img leaves it.
 */
public final class Amender {
    /** The options qemu-img amend takes for qcow2, in the order QEMU processes them. */
    public static final List<String> OPTIONS = List.of("size", "compat", "backing_file", "backing_fmt", "data_file",
            "data_file_raw", "lazy_refcounts", "refcount_bits", "encrypt.new-secret", "encrypt.old-secret",
            "encrypt.keyslot", "encrypt.state", "encrypt.iter-time");

    /** Create options that amend refuses with the hint that they are only for image creation. */
    private static final Set<String> CREATE_ONLY = Set.of("encryption", "encrypt.format", "encrypt.key-secret",
            "encrypt.cipher-alg", "encrypt.cipher-mode", "encrypt.ivgen-alg", "encrypt.ivgen-hash-alg",
            "encrypt.hash-alg", "cluster_size", "extended_l2", "preallocation", "compression_type");

    /** qemu-img's "-o help" text for qcow2 amend options. */
    public static final String HELP = "Amend options for 'qcow2':\n"
            + "  backing_file=<str>     - File name of a base image\n"
            + "  backing_fmt=<str>      - Image format of the base image\n"
            + "  compat=<str>           - Compatibility level (v2 [0.10] or v3 [1.1])\n"
            + "  data_file=<str>        - File name of an external data file\n"
            + "  data_file_raw=<bool (on/off)> - The external data file must stay valid as a raw image\n"
            + "  encrypt.iter-time=<num> - Time to spend in PBKDF in milliseconds\n"
            + "  encrypt.keyslot=<num>  - Select a single keyslot to modify explicitly\n"
            + "  encrypt.new-secret=<str> - New secret to set in the matching keyslots. Empty string to erase\n"
            + "  encrypt.old-secret=<str> - Select all keyslots that match this password\n"
            + "  encrypt.state=<str>    - Select new state of affected keyslots (active/inactive)\n"
            + "  lazy_refcounts=<bool (on/off)> - Postpone refcount updates\n"
            + "  refcount_bits=<num>    - Width of a reference count entry in bits\n"
            + "  size=<size>            - Virtual disk size\n";

    /** Receives progress in percent (qemu-img's amend_status_cb). */
    public interface Progress {
        void print(double percent);
    }

    private Amender() {
    }

    /**
     * Parses "-o" options as qemu_opts_do_parse does for amend: key=value pairs separated by commas (",," is a
     * comma), a bare key meaning "on"; later values replace earlier ones. Unknown keys are refused, with QEMU's hint
     * when they are create options.
     */
    public static Map<String, String> parse(String options) throws ResizeException {
        Map<String, String> out = new LinkedHashMap<>();
        int i = 0;
        int n = options.length();
        while (i < n) {
            StringBuilder key = new StringBuilder();
            while (i < n && options.charAt(i) != '=' && options.charAt(i) != ',') {
                key.append(options.charAt(i++));
            }
            String value = null;
            if (i < n && options.charAt(i) == '=') {
                StringBuilder v = new StringBuilder();
                i = dev.q2.util.QemuOptValue.read(options, i + 1, v);
                value = v.toString();
            }
            if (i < n && options.charAt(i) == ',') {
                i++;
            }
            String k = key.toString();
            if (value == null) {
                value = k.startsWith("no") && OPTIONS.contains(k.substring(2)) ? "off" : "on";
                if (value.equals("off")) {
                    k = k.substring(2);
                }
            }
            if (!OPTIONS.contains(k)) {
                String m = "Invalid parameter '" + k + "'";
                if (CREATE_ONLY.contains(k)) {
                    m += "\nThis option is only supported for image creation";
                }
                throw new ResizeException(Category.INVALID_ARGUMENT, m);
            }
            validate(k, value);
            out.put(k, value);
        }
        return out;
    }

    private static void validate(String key, String value) throws ResizeException {
        switch (key) {
            case "data_file_raw", "lazy_refcounts" -> bool(key, value);
            case "refcount_bits", "encrypt.keyslot", "encrypt.iter-time" -> number(key, value);
            case "size" -> {
                try {
                    Sizes.parse(value);
                } catch (Sizes.SizeFormatException e) {
                    throw new ResizeException(Category.INVALID_ARGUMENT, "Parameter 'size' expects a non-negative"
                            + " number below 2^64\nOptional suffix k, M, G, T, P or E means kilo-, mega-, giga-,"
                            + " tera-, peta-\nand exabytes, respectively.");
                }
            }
            default -> {
            }
        }
    }

    private static boolean bool(String key, String value) throws ResizeException {
        return switch (value) {
            case "on", "yes", "true", "y" -> true;
            case "off", "no", "false", "n" -> false;
            default -> throw new ResizeException(Category.INVALID_ARGUMENT, "Parameter '" + key
                    + "' expects 'on' or 'off'");
        };
    }

    private static long number(String key, String value) throws ResizeException {
        try {
            String v = value.strip();
            if (v.startsWith("0x") || v.startsWith("0X")) {
                return Long.parseUnsignedLong(v.substring(2), 16);
            }
            return Long.parseUnsignedLong(v);
        } catch (NumberFormatException e) {
            throw new ResizeException(Category.INVALID_ARGUMENT, "Parameter '" + key + "' expects a number");
        }
    }

    /** Applies parsed options to an image opened for writing; see the class comment. */
    public static void amend(Resizer.Qcow2Open img, Map<String, String> opts, Progress progress) throws IOException {
        QcowHeader h = img.image().header();
        int oldVersion = h.version();
        int newVersion = oldVersion;
        long newSize = 0;
        String backingFile = null;
        String backingFormat = null;
        String dataFile = null;
        boolean lazy = (h.compatibleFeatures() & Features.COMPAT_LAZY_REFCOUNTS) != 0;
        boolean dataFileRaw = (h.autoclearFeatures() & Features.AUTOCLEAR_DATA_FILE_RAW) != 0;
        boolean hasDataFile = h.hasFeature(Features.INCOMPAT_DATA_FILE);
        int refcountBits = h.refcountBits();
        for (String key : OPTIONS) {
            if (!opts.containsKey(key)) {
                continue;
            }
            String v = opts.get(key);
            switch (key) {
                case "compat" -> {
                    if (v.equals("0.10") || v.equals("v2")) {
                        newVersion = 2;
                    } else if (v.equals("1.1") || v.equals("v3")) {
                        newVersion = 3;
                    } else {
                        throw new ResizeException(Category.INVALID_ARGUMENT, "Unknown compatibility level " + v);
                    }
                }
                case "size" -> newSize = sizeValue(v);
                case "backing_file" -> backingFile = v;
                case "backing_fmt" -> backingFormat = v;
                case "lazy_refcounts" -> lazy = bool(key, v);
                case "refcount_bits" -> {
                    long bits = number(key, v);
                    if (bits <= 0 || bits > 64 || Long.bitCount(bits) != 1) {
                        throw new ResizeException(Category.INVALID_ARGUMENT, "Refcount width must be a power of two"
                                + " and may not exceed 64 bits");
                    }
                    refcountBits = (int) bits;
                }
                case "data_file" -> {
                    dataFile = v;
                    if (!hasDataFile) {
                        throw new ResizeException(Category.INVALID_ARGUMENT, "data-file can only be set for images"
                                + " that use an external data file");
                    }
                }
                case "data_file_raw" -> {
                    dataFileRaw = bool(key, v);
                    if (dataFileRaw && (h.autoclearFeatures() & Features.AUTOCLEAR_DATA_FILE_RAW) == 0) {
                        throw new ResizeException(Category.INVALID_ARGUMENT, "data-file-raw cannot be set on existing"
                                + " images");
                    }
                }
                default -> {
                    if (img.image().encryption() == null) {
                        throw new ResizeException(Category.INVALID_ARGUMENT,
                                "Can't amend encryption options - encryption not present");
                    }
                    throw new ResizeException(Category.UNSUPPORTED, "q2 cannot amend encryption options");
                }
            }
        }
        int total = (newVersion != oldVersion ? 1 : 0) + (refcountBits != h.refcountBits() ? 1 : 0);
        Helper helper = new Helper(progress, total);

        if (newVersion > oldVersion) {
            helper.operation(1);
            upgrade(img, helper);
        }
        if (refcountBits != img.image().header().refcountBits()) {
            if (newVersion < 3 && refcountBits != 16) {
                throw new ResizeException(Category.INVALID_ARGUMENT, "Refcount widths other than 16 bits require"
                        + " compatibility level 1.1 or above (use compat=1.1 or greater)");
            }
            helper.operation(2);
            changeRefcountOrder(img, Integer.numberOfTrailingZeros(refcountBits), helper);
        }
        QcowHeader cur = img.image().header();
        long autoclear = dataFileRaw ? cur.autoclearFeatures() | Features.AUTOCLEAR_DATA_FILE_RAW
                : cur.autoclearFeatures() & ~Features.AUTOCLEAR_DATA_FILE_RAW;
        List<HeaderExtension> exts = new ArrayList<>(img.image().extensions());
        if (dataFile != null) {
            exts.removeIf(e -> e.type() == HeaderExtension.EXTERNAL_DATA_FILE);
            if (!dataFile.isEmpty()) {
                exts.add(HeaderExtension.ofString(HeaderExtension.EXTERNAL_DATA_FILE, dataFile));
            }
        }
        writeHeader(img, cur.withAutoclearFeatures(autoclear), exts);

        if (backingFile != null || backingFormat != null) {
            if (!java.util.Objects.equals(backingFile, img.image().backingFile())
                    || !java.util.Objects.equals(backingFormat, storedBackingFormat(img.image()))) {
                throw new ResizeException(Category.UNSUPPORTED, "Cannot amend the backing file\n"
                        + "You can use 'qemu-img rebase' instead.");
            }
        }
        cur = img.image().header();
        boolean lazyNow = (cur.compatibleFeatures() & Features.COMPAT_LAZY_REFCOUNTS) != 0;
        if (lazyNow != lazy) {
            if (lazy) {
                if (newVersion < 3) {
                    throw new ResizeException(Category.INVALID_ARGUMENT, "Lazy refcounts only supported with"
                            + " compatibility level 1.1 and above (use compat=1.1 or greater)");
                }
                writeHeader(img, with(cur, cur.version(), cur.compatibleFeatures() | Features.COMPAT_LAZY_REFCOUNTS,
                        cur.compressionType()), img.image().extensions());
            } else {
                writeHeader(img, with(cur, cur.version(), cur.compatibleFeatures() & ~Features.COMPAT_LAZY_REFCOUNTS,
                        cur.compressionType()), img.image().extensions());
            }
        }
        if (newSize != 0) {
            img.resize(newSize, Preallocation.OFF);
            img.reload();
        }
        if (newVersion < oldVersion) {
            helper.operation(3);
            downgrade(img, helper);
        }
    }

    private static void changeRefcountOrder(Resizer.Qcow2Open img, int order, Helper helper) throws IOException {
        QcowHeader h = img.image().header();
        RefcountAllocator old = img.refcounts();
        RefcountOrderChange change = new RefcountOrderChange(img, old, h.clusterBits(), h.refcountOrder(),
                order, helper);
        change.run();
        long[] oldTable = old.table(); // as the walks left it: they may have grown it
        long oldTableOffset = old.tableOffset();
        QcowHeader nh = new QcowHeader(h.version(), h.backingFileOffset(), h.backingFileSize(), h.clusterBits(),
                h.size(), h.cryptMethod(), h.l1Size(), h.l1TableOffset(), change.newTableOffset,
                (int) (change.newTable.length * 8L / h.clusterSize()), h.nbSnapshots(), h.snapshotsOffset(),
                h.incompatibleFeatures(), h.compatibleFeatures(), h.autoclearFeatures(), order, h.headerLength(),
                h.compressionType());
        HeaderWriter.write(img.file(), nh, img.image().extensions(), backingName(img));
        img.sync();
        RefcountAllocator fresh = new RefcountAllocator(img.file(), h.clusterBits(), order, change.newTableOffset,
                change.newTable);
        for (long e : oldTable) {
            long off = e & 0xfffffffffffffe00L;
            if (off != 0) {
                fresh.freeClusters(off, h.clusterSize());
            }
        }
        fresh.freeClusters(oldTableOffset, oldTable.length * 8L);
        fresh.flush();
        img.sync();
        img.replaceRefcounts(fresh);
        img.bitmaps().useRefcounts(fresh);
        img.reload();
    }

    /** The header with another version, compatible features and compression type. */
    private static QcowHeader with(QcowHeader h, int version, long compatible, int compressionType) {
        return new QcowHeader(version, h.backingFileOffset(), h.backingFileSize(), h.clusterBits(), h.size(),
                h.cryptMethod(), h.l1Size(), h.l1TableOffset(), h.refcountTableOffset(), h.refcountTableClusters(),
                h.nbSnapshots(), h.snapshotsOffset(), h.incompatibleFeatures(), compatible, h.autoclearFeatures(),
                version == 2 ? 4 : h.refcountOrder(), version == 2 ? QcowHeader.V2_HEADER_LENGTH : h.headerLength(),
                compressionType);
    }

    /** The backing format as stored (an empty extension reads as ""), or null without the extension. */
    private static String storedBackingFormat(Qcow2Metadata img) {
        return HeaderExtension.last(img.extensions(), HeaderExtension.BACKING_FORMAT)
                .map(HeaderExtension::dataAsString).orElse(null);
    }

    private static long sizeValue(String v) throws ResizeException {
        try {
            return Sizes.parse(v).value();
        } catch (Sizes.SizeFormatException e) {
            throw new ResizeException(Category.INVALID_ARGUMENT, "Parameter 'size' expects a non-negative number"
                    + " below 2^64");
        }
    }

    private static void writeHeader(Resizer.Qcow2Open img, QcowHeader h, List<HeaderExtension> exts)
            throws IOException {
        QcowHeader withRefcounts = h.withRefcountTable(img.refcounts().tableOffset(), img.refcounts().tableClusters());
        HeaderWriter.write(img.file(), withRefcounts, exts, backingName(img));
        img.sync();
        img.reload();
    }

    private static byte[] backingName(Resizer.Qcow2Open img) throws IOException {
        QcowHeader h = img.image().header();
        if (h.backingFileOffset() == 0) {
            return null;
        }
        ByteBuffer b = ByteBuffer.allocate(h.backingFileSize());
        img.file().readZeroFilled(h.backingFileOffset(), b);
        return b.array();
    }

    private static void upgrade(Resizer.Qcow2Open img, Helper helper) throws IOException {
        helper.status(0, 2);
        try {
            if (dev.q2.snapshot.Qcow2Snapshots.completeExtraData(img.file(), img.refcounts(),
                    img.image().header(), img::sync)) {
                img.reload();
            }
        } catch (dev.q2.snapshot.SnapshotException e) {
            throw new ResizeException(e.category(), "Failed to update the snapshot table: " + e.errno().text);
        }
        helper.status(1, 2);
        QcowHeader h = img.image().header();
        writeHeader(img, with(h, 3, h.compatibleFeatures(), h.compressionType()), img.image().extensions());
        helper.status(2, 2);
    }

    private static void downgrade(Resizer.Qcow2Open img, Helper helper) throws IOException {
        QcowHeader h = img.image().header();
        if (h.refcountOrder() != 4) {
            throw new ResizeException(Category.UNSUPPORTED, "compat=0.10 requires refcount_bits=16");
        }
        if (h.hasFeature(Features.INCOMPAT_DATA_FILE)) {
            throw new ResizeException(Category.UNSUPPORTED, "Cannot downgrade an image with a data file");
        }
        long size = h.size() & ~511L;
        for (SnapshotEntry s : img.image().snapshots()) {
            long disk = s.extraDataSize() >= 16 ? s.diskSize() : size;
            if (Long.compareUnsigned(s.vmStateSize(), 0xffffffffL) > 0 || disk != size) {
                throw new ResizeException(Category.UNSUPPORTED, "Internal snapshots prevent downgrade of image");
            }
        }
        long incompat = h.incompatibleFeatures() & ~Features.INCOMPAT_DIRTY; // a dirty image was repaired on open
        if ((incompat & ~Features.INCOMPAT_COMPRESSION) != 0) {
            throw new ResizeException(Category.UNSUPPORTED, "Cannot downgrade an image with incompatible features 0x"
                    + Long.toHexString(incompat & ~Features.INCOMPAT_COMPRESSION) + " set");
        }
        new ZeroExpander(img, helper).run();
        if ((incompat & Features.INCOMPAT_COMPRESSION) != 0) {
            if (ZeroExpander.hasCompressedClusters(img)) {
                throw new ResizeException(Category.UNSUPPORTED, "Cannot downgrade an image with zstd compression"
                        + " type and existing compressed clusters");
            }
        }
        QcowHeader cur = img.image().header();
        QcowHeader v2 = with(cur.withAutoclearFeatures(0).withIncompatibleFeatures(0), 2, 0,
                QcowHeader.COMPRESSION_ZLIB);
        writeHeader(img, v2, img.image().extensions());
    }

    /** qcow2_amend_helper_cb: one progress scale over all the operations of an amend. */
    static final class Helper {
        private final Progress progress;
        private final int total;
        private int current;
        private int last;
        private int completed;
        private long offsetCompleted;
        private long lastWork;

        Helper(Progress progress, int total) {
            this.progress = progress;
            this.total = total;
        }

        void operation(int op) {
            current = op;
        }

        void status(long offset, long work) {
            if (current != last) {
                if (last != 0) {
                    offsetCompleted += lastWork;
                    completed++;
                }
                last = current;
            }
            lastWork = work;
            long currentWork = offsetCompleted + work;
            long projected = currentWork * (total - completed - 1) / (completed + 1);
            long all = currentWork + projected;
            progress.print(100.0f * (offsetCompleted + offset) / all);
        }
    }

    /** qcow2_expand_zero_clusters: zero clusters become data clusters of zeros (or unallocated ones). */
    static final class ZeroExpander {
        private final Resizer.Qcow2Open img;
        private final Helper helper;
        private final ImageFile file;
        private final RefcountAllocator rc;
        private final long cs;
        private long visited;
        private long entries;

        ZeroExpander(Resizer.Qcow2Open img, Helper helper) {
            this.img = img;
            this.helper = helper;
            this.file = img.file();
            this.rc = img.refcounts();
            this.cs = img.image().clusterSize();
        }

        void run() throws IOException {
            Qcow2Metadata image = img.image();
            entries = image.l1Table().length;
            for (SnapshotEntry s : image.snapshots()) {
                entries += s.l1Size();
            }
            expand(image.l1Table());
            for (SnapshotEntry s : image.snapshots()) {
                var invalid = dev.q2.snapshot.Qcow2Snapshots.validateL1(s.l1TableOffset(), s.l1Size(), cs);
                if (invalid != null) { // QEMU reports the table's fault on a line of its own, then the downgrade's
                    throw new ResizeException(invalid.category(), invalid.getMessage()
                            + "\nq2: Failed to turn zero into data clusters: " + invalid.errno().text);
                }
                ByteBuffer b = ByteBuffer.allocate(s.l1Size() * 8).order(ByteOrder.BIG_ENDIAN);
                file.readFully(s.l1TableOffset(), b);
                long[] l1 = new long[s.l1Size()];
                b.flip();
                b.asLongBuffer().get(l1);
                expand(l1);
            }
            rc.flush();
            img.sync();
        }

        private void expand(long[] l1) throws IOException {
            for (int i = 0; i < l1.length; i++) {
                long l2Offset = L1Entry.l2Offset(l1[i]);
                if (l2Offset == 0) {
                    visited++;
                    helper.status(visited, entries);
                    continue;
                }
                if ((l2Offset & (cs - 1)) != 0) {
                    throw new ResizeException(Category.CORRUPT, "L2 table offset 0x" + Long.toHexString(l2Offset)
                            + " unaligned (L1 index: 0x" + Integer.toHexString(i) + ")");
                }
                long l2Refcount = rc.refcount(l2Offset / cs);
                ByteBuffer t = ByteBuffer.allocate((int) cs).order(ByteOrder.BIG_ENDIAN);
                file.readZeroFilled(l2Offset, t);
                boolean dirty = false;
                for (int j = 0; j < cs / 8; j++) {
                    long e = t.getLong(j * 8);
                    L2Entry.Type type = L2Entry.type(e, false);
                    if (type != L2Entry.Type.ZERO_PLAIN && type != L2Entry.Type.ZERO_ALLOC) {
                        continue;
                    }
                    long offset = L2Entry.hostOffset(e);
                    if (type == L2Entry.Type.ZERO_PLAIN) {
                        if (!img.hasBacking()) {
                            t.putLong(j * 8, 0);
                            dirty = true;
                            continue;
                        }
                        offset = rc.allocClusters(cs);
                        if (l2Refcount > 1) {
                            rc.addReferences(offset, cs, l2Refcount - 1);
                        }
                    }
                    if ((offset & (cs - 1)) != 0) {
                        throw new ResizeException(Category.CORRUPT, "Cluster allocation offset 0x"
                                + Long.toHexString(offset) + " unaligned (L2 offset: 0x" + Long.toHexString(l2Offset)
                                + ", L2 index: 0x" + Integer.toHexString(j) + ")");
                    }
                    rc.flush();
                    file.writeFully(offset, ByteBuffer.allocate((int) cs));
                    img.sync();
                    t.putLong(j * 8, l2Refcount == 1 ? offset | L2Entry.OFLAG_COPIED : offset);
                    dirty = true;
                }
                if (dirty) {
                    rc.flush();
                    img.sync();
                    t.clear();
                    file.writeFully(l2Offset, t);
                    img.sync();
                }
                visited++;
                helper.status(visited, entries);
            }
        }

        static boolean hasCompressedClusters(Resizer.Qcow2Open img) throws IOException {
            Qcow2Metadata image = img.image();
            for (long e1 : image.l1Table()) {
                long l2 = L1Entry.l2Offset(e1);
                if (l2 == 0) {
                    continue;
                }
                var table = image.readL2Table(l2);
                for (int j = 0; j < table.size(); j++) {
                    if (L2Entry.compressed(table.entry(j))) {
                        return true;
                    }
                }
            }
            return false;
        }
    }
}
