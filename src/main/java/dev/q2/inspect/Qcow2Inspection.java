package dev.q2.inspect;

import dev.q2.check.CheckFailedException;
import dev.q2.check.CheckMode;
import dev.q2.check.CheckResult;
import dev.q2.check.CheckListener;
import dev.q2.check.CheckMessage;
import dev.q2.check.ImageChecker;
import dev.q2.format.BitmapDirectory;
import dev.q2.format.BitmapDirectoryEntry;
import dev.q2.format.BitmapsExtension;
import dev.q2.format.CStrings;
import dev.q2.format.CryptoHeaderPointer;
import dev.q2.format.FeatureNameTable;
import dev.q2.format.Features;
import dev.q2.format.FormatException;
import dev.q2.format.HeaderExtension;
import dev.q2.format.L1Entry;
import dev.q2.format.QcowHeader;
import dev.q2.format.SnapshotEntry;
import dev.q2.image.Encryption;
import dev.q2.image.ImageException;
import dev.q2.format.Limits;
import dev.q2.image.Qcow2Metadata;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The qcow2 rules, on this file alone. In order: the header's references and feature bits (read directly, so that
 * they are reported even when QEMU would refuse the image); the placement of the top-level tables; the open checks
 * QEMU makes ({@link Qcow2Metadata#loadMetadata}); the L1 and refcount tables' pointers; and finally q2's {@code check}
 * read-only. Before anything is read in bulk its extent is checked against the file and against a budget of
 * {@value #AMPLIFICATION} times the file's size, so a hostile header cannot make the walk read more than that.
 */
final class Qcow2Inspection {
    /** The largest length QEMU's block layer handles (BDRV_MAX_LENGTH). */
    static final long BDRV_MAX_LENGTH = Long.MAX_VALUE & ~((1L << 30) - 1);
    /** The walk and the check may read at most this many times the file's size (or of 64 MiB, if larger). */
    static final long AMPLIFICATION = 64;
    private static final int CHUNK_ENTRIES = 65536;
    private static final long REFT_OFFSET_MASK = 0xfffffffffffffe00L;
    private static final int MAX_CHECK_LINES = 15;

    private final ImageFile f;
    private final Findings out;
    private long fileSize;
    private long budget;
    private long work;
    private boolean deep = true;
    private boolean swept;
    private final Areas areas = new Areas();
    private Long virtualSize;

    private Qcow2Inspection(ImageFile f, Findings out) {
        this.f = f;
        this.out = out;
    }

    /** Applies the qcow2 rules; returns the virtual size, or null where the header could not be read. */
    static Long inspect(ImageFile f, Findings out) throws IOException {
        Qcow2Inspection i = new Qcow2Inspection(f, out);
        i.run();
        return i.virtualSize;
    }

    private void run() throws IOException {
        fileSize = f.size();
        budget = AMPLIFICATION * Math.max(fileSize, 64L << 20);
        ByteBuffer first = ByteBuffer.allocate(QcowHeader.V3_HEADER_LENGTH);
        f.readZeroFilled(0, first);
        first.clear();
        if (first.getInt(0) != QcowHeader.MAGIC) {
            out.add(Rule.INVALID_METADATA, "Image is not in qcow2 format");
            return;
        }
        int version = first.getInt(4);
        if (version != 2 && version != 3) {
            out.add(Rule.INVALID_METADATA, "Unsupported qcow2 version " + Integer.toUnsignedString(version));
            return;
        }
        int clusterBits = first.getInt(20);
        if (clusterBits < QcowHeader.MIN_CLUSTER_BITS || clusterBits > QcowHeader.MAX_CLUSTER_BITS) {
            out.add(Rule.INVALID_METADATA, "Unsupported cluster size: 2^" + clusterBits);
            return;
        }
        QcowHeader h;
        try {
            h = QcowHeader.decode(first.duplicate());
        } catch (FormatException e) {
            out.add(Rule.INVALID_METADATA, e.getMessage());
            return;
        }
        virtualSize = h.size() < 0 ? null : h.size() & ~511L;
        List<HeaderExtension> exts = extensions(h);
        references(h, exts);
        features(h, exts);
        limits(h);
        layout(h, exts);
        Qcow2Metadata meta = null;
        if (deep) {
            try {
                meta = Qcow2Metadata.loadMetadata(f);
            } catch (ImageException | FormatException e) {
                out.add(Rule.INVALID_METADATA, "QEMU refuses to open the image: " + e.getMessage());
            }
        }
        if (meta != null) {
            Encryption enc = meta.encryption();
            if (enc != null && enc.algorithms() != null) {
                var a = enc.algorithms();
                out.add(Rule.ENCRYPTION, "encrypted: luks, cipher " + a.cipherAlg() + "-" + a.cipherMode()
                        + ", ivgen " + a.ivgenAlg() + ", hash " + a.hashAlg());
            }
            walk(h, meta);
        }
        if (meta != null && deep) {
            check(meta);
        }
    }

    /** The header extensions QEMU reads (those before an error in the area, which QEMU then reports). */
    private List<HeaderExtension> extensions(QcowHeader h) throws IOException {
        long cs = h.clusterSize();
        long extStart = h.version() == 2 ? QcowHeader.V2_HEADER_LENGTH : Integer.toUnsignedLong(h.headerLength());
        long extEnd = h.backingFileOffset() != 0 ? h.backingFileOffset() : cs;
        if (Long.compareUnsigned(extEnd, cs) > 0) {
            extEnd = cs;
        }
        List<HeaderExtension> readable = new ArrayList<>();
        if (extStart < extEnd) {
            ByteBuffer area = ByteBuffer.allocate((int) (extEnd - extStart)); // within the first cluster: <= 2 MiB
            f.readZeroFilled(extStart, area);
            area.flip();
            try {
                HeaderExtension.decodeAll(area, readable);
            } catch (FormatException e) {
                // QEMU refuses the image: loadMetadata reports it; the extensions before the error still count
            }
        }
        return readable;
    }

    private void references(QcowHeader h, List<HeaderExtension> exts) throws IOException {
        long cs = h.clusterSize();
        long off = h.backingFileOffset();
        if (off != 0 && off > 0 && off < cs) {
            long len = Math.min(Math.min(Integer.toUnsignedLong(h.backingFileSize()), Limits.MAX_BACKING_FILE_NAME),
                    cs - off);
            ByteBuffer name = ByteBuffer.allocate((int) len);
            f.readZeroFilled(off, name);
            String backing = CStrings.decode(name.array());
            if (!backing.isEmpty()) {
                String fmt = HeaderExtension.last(exts, HeaderExtension.BACKING_FORMAT)
                        .map(HeaderExtension::dataAsString).orElse(null);
                out.add(Rule.BACKING_FILE, "backing file " + References.quote(backing) + " ("
                        + References.kind(backing) + "), "
                        + (fmt == null ? "no backing format: QEMU would probe it" : "format " + References.quote(fmt)));
            }
        }
        Optional<HeaderExtension> data = HeaderExtension.last(exts, HeaderExtension.EXTERNAL_DATA_FILE);
        boolean bit = h.hasFeature(Features.INCOMPAT_DATA_FILE);
        boolean raw = (h.autoclearFeatures() & Features.AUTOCLEAR_DATA_FILE_RAW) != 0;
        if (bit || data.isPresent()) {
            String name = data.map(HeaderExtension::dataAsString).orElse(null);
            String what = name == null ? "an external data file that the image does not name (QEMU opens the one"
                    + " given with data-file=)" : "external data file " + References.quote(name) + " ("
                    + References.kind(name) + ")";
            if (!bit) {
                what += ", named though the data-file feature bit is clear";
            } else if (raw) {
                what += ", data-file-raw: the guest disk is that file itself";
            }
            out.add(Rule.DATA_FILE, what);
        }
    }

    private void features(QcowHeader h, List<HeaderExtension> exts) {
        long unknown = h.incompatibleFeatures() & ~Features.INCOMPAT_KNOWN;
        if (unknown != 0) {
            FeatureNameTable names = HeaderExtension.last(exts, HeaderExtension.FEATURE_NAME_TABLE)
                    .map(e -> FeatureNameTable.decode(e.data())).orElse(new FeatureNameTable(List.of()));
            StringBuilder b = new StringBuilder();
            for (int bit = 0; bit < 64; bit++) {
                if ((unknown & (1L << bit)) != 0) {
                    String n = names.nameOf(Features.TYPE_INCOMPATIBLE, bit);
                    b.append(b.length() == 0 ? "" : ", ").append("bit ").append(bit)
                            .append(n == null ? "" : " (" + References.quote(n) + ")");
                }
            }
            out.add(Rule.UNKNOWN_INCOMPATIBLE_FEATURES, "unknown incompatible features: " + b
                    + "; QEMU refuses the image");
        }
        if (h.hasFeature(Features.INCOMPAT_CORRUPT)) {
            out.add(Rule.CORRUPT_BIT, "the corrupt bit is set: QEMU found its metadata corrupt and opens it read-only"
                    + " only");
        }
        if (h.hasFeature(Features.INCOMPAT_DIRTY)) {
            out.add(Rule.DIRTY_BIT, "the dirty bit is set: refcounts may be stale (lazy refcounts), QEMU rewrites them"
                    + " when it opens the image writable");
        }
        int method = h.cryptMethod();
        if (method == QcowHeader.CRYPT_AES) {
            out.add(Rule.ENCRYPTION, "encrypted: aes (qcow2's legacy AES-CBC, which QEMU no longer creates)");
        } else if (method == QcowHeader.CRYPT_LUKS) {
            if (HeaderExtension.first(exts, HeaderExtension.FULL_DISK_ENCRYPTION).isEmpty()) {
                out.add(Rule.ENCRYPTION, "encrypted: luks, without its crypto header extension");
            } // else named with its cipher once the LUKS header is read
        } else if (method != QcowHeader.CRYPT_NONE) {
            out.add(Rule.ENCRYPTION, "encryption method " + Integer.toUnsignedString(method) + ", unknown to QEMU");
        }
    }

    private void limits(QcowHeader h) {
        if (h.size() < 0 || h.size() > BDRV_MAX_LENGTH) {
            out.add(Rule.VIRTUAL_SIZE_LIMIT, "virtual size " + Long.toUnsignedString(h.size())
                    + " is past QEMU's limit of " + BDRV_MAX_LENGTH + " bytes");
            deep = false;
            return;
        }
        long coverage = h.clusterSize() << h.l2Bits();
        long needed = (h.size() + coverage - 1) / coverage;
        if (needed > Limits.MAX_L1_SIZE / 8) {
            out.add(Rule.VIRTUAL_SIZE_LIMIT, "virtual size " + h.size() + " needs " + needed + " L1 entries with "
                    + h.clusterSize() + "-byte clusters, more than QEMU's limit of " + Limits.MAX_L1_SIZE / 8);
        }
    }

    /** The top-level structures: inside the file, cluster aligned, not overlapping each other or the header. */
    private void layout(QcowHeader h, List<HeaderExtension> exts) throws IOException {
        long cs = h.clusterSize();
        areas.add("the header cluster", 0, cs);
        long l1Entries = Integer.toUnsignedLong(h.l1Size());
        if (l1Entries > Limits.MAX_L1_SIZE / 8) {
            out.add(Rule.INVALID_METADATA, "active L1 table of " + l1Entries + " entries: QEMU refuses more than "
                    + Limits.MAX_L1_SIZE / 8);
            deep = false;
        } else if (!place("the active L1 table", h.l1TableOffset(), l1Entries * 8, cs)) {
            deep = false;
        }
        long reftableBytes = Integer.toUnsignedLong(h.refcountTableClusters()) * cs;
        if (reftableBytes > Limits.MAX_REFTABLE_SIZE) {
            out.add(Rule.INVALID_METADATA, "refcount table of " + reftableBytes + " bytes: QEMU refuses more than "
                    + Limits.MAX_REFTABLE_SIZE);
            deep = false;
        } else if (!place("the refcount table", h.refcountTableOffset(), reftableBytes, cs)) {
            deep = false;
        }
        long nbSnapshots = Integer.toUnsignedLong(h.nbSnapshots());
        if (nbSnapshots > Limits.MAX_SNAPSHOTS) {
            out.add(Rule.INVALID_METADATA, nbSnapshots + " snapshots: QEMU refuses more than " + Limits.MAX_SNAPSHOTS);
            deep = false;
        } else if (nbSnapshots > 0
                && !place("the snapshot table", h.snapshotsOffset(), nbSnapshots * SnapshotEntry.FIXED_SIZE, cs)) {
            deep = false;
        }
        Optional<HeaderExtension> crypto = HeaderExtension.first(exts, HeaderExtension.FULL_DISK_ENCRYPTION);
        if (crypto.isPresent() && crypto.get().data().length == 16) {
            CryptoHeaderPointer p = CryptoHeaderPointer.decode(crypto.get().data());
            if (!place("the LUKS header", p.offset(), p.length(), cs)) {
                deep = false;
            }
        }
        bitmaps(h, exts);
        for (Areas.Area[] o : areas.overlaps()) {
            out.add(Rule.METADATA_OVERLAP, o[1].what() + " at offset " + o[1].offset() + " overlaps " + o[0].what()
                    + " at offset " + o[0].offset());
        }
        swept = true;
    }

    /**
     * Records a structure's extent; reports it when it is not cluster aligned or not inside the file. Returns
     * whether it is inside the file (so that it may be read).
     */
    private boolean place(String what, long offset, long length, long cs) {
        if (length <= 0) {
            return true;
        }
        if (offset < 0 || offset > fileSize || length > fileSize - offset) {
            out.add(Rule.METADATA_OUTSIDE_FILE, what + " at offset " + Long.toUnsignedString(offset) + " ("
                    + Long.toUnsignedString(length) + " bytes) lies past the end of the file (" + fileSize + " bytes)");
            return false;
        }
        if ((offset & (cs - 1)) != 0) {
            out.add(Rule.METADATA_OVERLAP, what + " at offset " + offset + " is not cluster aligned");
        }
        if (swept) { // placed after the sweep over the top-level structures: asked one by one
            Areas.Area o = areas.overlapping(offset, length);
            if (o != null) {
                out.add(Rule.METADATA_OVERLAP, what + " at offset " + offset + " overlaps " + o.what()
                        + " at offset " + o.offset());
            }
        }
        areas.add(what, offset, length);
        return true;
    }

    /** The bitmap directory and every bitmap table, checked before QEMU's open reads them. */
    private void bitmaps(QcowHeader h, List<HeaderExtension> exts) throws IOException {
        Optional<HeaderExtension> ext = HeaderExtension.first(exts, HeaderExtension.BITMAPS);
        if (ext.isEmpty() || (h.autoclearFeatures() & Features.AUTOCLEAR_BITMAPS) == 0) {
            return;
        }
        long cs = h.clusterSize();
        BitmapsExtension b;
        try {
            b = BitmapsExtension.decodeChecked(ext.get().data(), cs, Limits.MAX_BITMAPS,
                    Limits.MAX_BITMAP_DIRECTORY_SIZE);
        } catch (FormatException e) {
            out.add(Rule.INVALID_METADATA, e.getMessage());
            deep = false;
            return;
        }
        long size = b.bitmapDirectorySize();
        if (!place("the bitmap directory", b.bitmapDirectoryOffset(), size, cs)) {
            deep = false;
            return;
        }
        ByteBuffer dir = ByteBuffer.allocate((int) size); // <= 64 MiB and inside the file
        f.readFully(b.bitmapDirectoryOffset(), dir);
        dir.flip();
        List<BitmapDirectoryEntry> entries;
        try {
            entries = BitmapDirectory.decode(dir, Integer.toUnsignedLong(b.nbBitmaps()), cs, (h.size() >>> 9) << 9);
        } catch (FormatException e) {
            out.add(Rule.INVALID_METADATA, e.getMessage());
            deep = false;
            return;
        }
        for (BitmapDirectoryEntry e : entries) {
            if (e.inUse()) {
                out.add(Rule.BITMAP_IN_USE, "bitmap " + References.quote(e.name()) + " is marked in use: the image"
                        + " was not closed cleanly and the bitmap is inconsistent");
            }
            long bytes = Integer.toUnsignedLong(e.bitmapTableSize()) * 8;
            if (!place("the table of bitmap " + References.quote(e.name()), e.bitmapTableOffset(), bytes, cs)) {
                deep = false;
            }
            spend(bytes);
        }
    }

    /** Counts bytes the walk or the check would read; past the budget the deep checks are given up. */
    private boolean spend(long bytes) {
        work += bytes;
        if (work > budget && deep) {
            out.add(Rule.METADATA_AMPLIFICATION, "walking this image's tables would read more than " + budget
                    + " bytes (" + AMPLIFICATION + " times the file's " + fileSize + " bytes, or of 64 MiB): its"
                    + " metadata was not checked further");
            deep = false;
        }
        return deep;
    }

    /**
     * The pointers of the active and snapshot L1 tables and of the refcount table: to clusters inside the file,
     * aligned, not over the header or other top-level metadata, no L2 table twice in one L1 table.
     */
    private void walk(QcowHeader h, Qcow2Metadata meta) throws IOException {
        long cs = h.clusterSize();
        List<SnapshotEntry> snaps = meta.snapshots();
        for (int i = 0; i < snaps.size() && deep; i++) {
            SnapshotEntry s = snaps.get(i);
            long bytes = Integer.toUnsignedLong(s.l1Size()) * 8;
            if (!spend(bytes)) {
                return;
            }
            place("the L1 table of snapshot " + References.quote(s.id()), s.l1TableOffset(), bytes, cs);
        }
        // refcount blocks
        long[] reftable = meta.refcountTable();
        long[] blocks = new long[reftable.length];
        int nBlocks = 0;
        for (int i = 0; i < reftable.length && deep; i++) {
            long off = reftable[i] & REFT_OFFSET_MASK;
            if (off == 0) {
                continue;
            }
            if (!spend(cs)) {
                return;
            }
            if (pointer("refcount block " + i, off, cs)) {
                blocks[nBlocks++] = off;
            }
        }
        long[] sortedBlocks = Arrays.copyOf(blocks, nBlocks);
        Arrays.sort(sortedBlocks);
        for (int i = 1; i < nBlocks; i++) {
            if (sortedBlocks[i] == sortedBlocks[i - 1]) {
                out.add(Rule.METADATA_OVERLAP, "the refcount table names the refcount block at offset "
                        + sortedBlocks[i] + " more than once");
            }
        }
        for (int i = 0; i < nBlocks; i++) {
            areas.add("refcount block at offset " + blocks[i], blocks[i], cs);
        }
        l1("the active L1 table", h.l1TableOffset(), Integer.toUnsignedLong(h.l1Size()), cs);
        for (SnapshotEntry s : snaps) {
            if (!deep) {
                return;
            }
            long bytes = Integer.toUnsignedLong(s.l1Size()) * 8;
            if (s.l1TableOffset() >= 0 && s.l1TableOffset() <= fileSize && bytes <= fileSize - s.l1TableOffset()) {
                l1("the L1 table of snapshot " + References.quote(s.id()), s.l1TableOffset(), s.l1Size(), cs);
            }
        }
    }

    /** Reads an L1 table in chunks and checks where each L2 table lies. */
    private void l1(String what, long offset, long entries, long cs) throws IOException {
        if (entries == 0 || offset < 0 || offset > fileSize || entries * 8 > fileSize - offset) {
            return; // reported by place()
        }
        long[] l2s = new long[(int) entries]; // <= 4 Mi entries, and the table is inside the file
        int n = 0;
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(entries, CHUNK_ENTRIES) * 8).order(ByteOrder.BIG_ENDIAN);
        for (long firstEntry = 0; firstEntry < entries && deep; firstEntry += CHUNK_ENTRIES) {
            int k = (int) Math.min(CHUNK_ENTRIES, entries - firstEntry);
            buf.clear().limit(k * 8);
            f.readFully(offset + firstEntry * 8, buf);
            for (int i = 0; i < k; i++) {
                long e = buf.getLong(i * 8);
                long l2 = L1Entry.l2Offset(e);
                if (l2 == 0) {
                    continue;
                }
                if (!spend(cs)) {
                    return;
                }
                if (pointer("the L2 table of " + what + " entry " + (firstEntry + i), l2, cs)) {
                    l2s[n++] = l2;
                }
            }
        }
        long[] sorted = Arrays.copyOf(l2s, n);
        Arrays.sort(sorted);
        for (int i = 1; i < n; i++) {
            if (sorted[i] == sorted[i - 1] && (i == 1 || sorted[i - 2] != sorted[i])) {
                out.add(Rule.METADATA_OVERLAP, what + " names the L2 table at offset " + sorted[i] + " more than once");
            }
        }
    }

    /** A pointer to one cluster of metadata: inside the file, aligned, over no other metadata. */
    private boolean pointer(String what, long offset, long cs) {
        if (offset > fileSize - cs) {
            out.add(Rule.METADATA_OUTSIDE_FILE, what + " at offset " + offset + " lies past the end of the file ("
                    + fileSize + " bytes)");
            return false;
        }
        if ((offset & (cs - 1)) != 0) {
            out.add(Rule.METADATA_OVERLAP, what + " at offset " + offset + " is not cluster aligned");
        }
        Areas.Area o = areas.overlapping(offset, cs);
        if (o != null) {
            out.add(Rule.METADATA_OVERLAP, what + " at offset " + offset + " overlaps " + o.what() + " at offset "
                    + o.offset());
        }
        return true;
    }

    /** q2's check, read-only, on this file alone: corruptions and incomplete checks are findings; leaks are not. */
    private void check(Qcow2Metadata meta) throws IOException {
        Qcow2Metadata image;
        try {
            image = Qcow2Metadata.loadForCheck(f);
        } catch (ImageException | FormatException e) {
            image = meta; // encrypted, or a data file QEMU would ask for: the metadata alone is checked
        }
        List<String> errors = new java.util.ArrayList<>();
        CheckResult r;
        try {
            r = ImageChecker.checkReadOnly(image, new CheckListener() {
                @Override
                public void message(CheckMessage m) {
                    for (String line : m.text().split("\n")) {
                        if (line.startsWith("ERROR")) {
                            errors.add(line.strip());
                        }
                    }
                }
            }).result();
        } catch (CheckFailedException | ImageException | FormatException e) {
            out.add(Rule.CHECK_CORRUPTION, "check could not complete: " + e.getMessage());
            return;
        }
        if (r.corruptions() == 0 && r.checkErrors() == 0) {
            return;
        }
        out.add(Rule.CHECK_CORRUPTION, "check found " + r.corruptions() + " corruptions"
                + (r.checkErrors() == 0 ? "" : " and " + r.checkErrors() + " internal errors"));
        for (String line : errors.subList(0, Math.min(errors.size(), MAX_CHECK_LINES))) {
            out.add(Rule.CHECK_CORRUPTION, line);
        }
    }
}
