package dev.q2.check;

import dev.q2.format.BitmapDirectoryEntry;
import dev.q2.format.BitmapsExtension;
import dev.q2.format.CryptoHeaderPointer;
import dev.q2.format.Features;
import dev.q2.format.L1Entry;
import dev.q2.format.L2Entry;
import dev.q2.format.QcowHeader;
import dev.q2.format.RefcountBlock;
import dev.q2.format.SnapshotEntry;
import dev.q2.format.Limits;
import dev.q2.image.Qcow2Metadata;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * One pass of qemu-img 7.2's qcow2 consistency check (qcow2_check_refcounts) over an open image, with the repairs
 * of {@code -r leaks} and {@code -r all}: counts the references to every host cluster from the header, the active
 * and snapshot L1/L2 tables, the snapshot table, the refcount structures, the encryption header and the bitmaps,
 * compares them with the stored refcounts, checks OFLAG_COPIED, and reports every problem on {@code err} in
 * qemu-img's words.
 *
 * <p>Repairs are written in an order that keeps the image repairable if q2 stops half-way: refcount changes are
 * written and synced before the L1/L2 flags that depend on them; a rebuilt refcount structure is written into
 * clusters nothing uses and synced before the header points at it; the dirty and corrupt bits are cleared last.
 */
public final class Qcow2Checker {
    // QEMU's names for the format's bits, kept short for the many uses below; the values live in dev.q2.format.
    static final long L1E_OFFSET_MASK = L1Entry.OFFSET_MASK;
    static final long L1E_RESERVED_MASK = L1Entry.RESERVED_MASK;
    static final long L2E_OFFSET_MASK = L2Entry.OFFSET_MASK;
    static final long L2E_STD_RESERVED_MASK = L2Entry.STANDARD_RESERVED_MASK;
    static final long OFLAG_COPIED = L2Entry.OFLAG_COPIED;
    static final long OFLAG_COMPRESSED = L2Entry.OFLAG_COMPRESSED;
    static final long OFLAG_ZERO = L2Entry.OFLAG_ZERO;
    static final long BITMAP_ALL_ALLOC = 0xffffffffL;
    static final long BITMAP_ALL_ZEROES = 0xffffffff00000000L;
    static final long REFT_RESERVED_MASK = 0x1ffL;
    static final long BME_OFFSET_MASK = 0x00fffffffffffe00L;
    static final long BME_RESERVED_MASK = 0xff000000000001feL;
    private static final int FRAG_INFO = 2;
    /** -Dq2.check.timing=true prints how long each phase took (for benchmarking). */
    private static final boolean TIMING = Boolean.getBoolean("q2.check.timing");

    // cluster types as clusterType returns them: the ordinals of L2Entry.Type
    private static final int UNALLOCATED = 0;
    private static final int ZERO_PLAIN = 1;
    private static final int ZERO_ALLOC = 2;
    private static final int NORMAL = 3;
    private static final int COMPRESSED = 4;

    /** State that outlives one pass: what QEMU keeps in its BlockDriverState between the check and the re-check. */
    public static final class Session {
        boolean signaledCorruption;
        boolean driverGone;
    }

    private final ImageFile file;
    private final Qcow2Metadata image;
    private final QcowHeader header;
    private final PrintWriter err;
    private final CheckMode mode;
    private final Session session;
    private final int clusterBits;
    private final long clusterSize;
    private final int l2Entries;
    private final int l2EntrySize;
    private final boolean extendedL2;
    private final boolean hasDataFile;
    private final int csizeShift;
    private final long csizeMask;
    private final long clusterOffsetMask;
    private final long refcountMax;
    private final long[] l1Table;
    private final StoredRefcounts stored;
    private long reftableOffset;
    private long incompatibleFeatures;
    private final TableReader tables;

    private CheckResult res = new CheckResult();
    /** OFLAG_COPIED findings gathered during the counting walk when nothing is repaired, or null. */
    private CopiedFindings copied;
    private ReferenceCounts counts;
    private long fileLength;
    private boolean rebuild;
    private long highestCluster;

    private Qcow2Checker(Qcow2Metadata image, CheckMode mode, PrintWriter err, Session session) throws IOException {
        this.image = image;
        this.file = image.file();
        this.header = image.header();
        this.err = err;
        this.mode = mode;
        this.session = session;
        this.clusterBits = header.clusterBits();
        this.clusterSize = header.clusterSize();
        this.extendedL2 = header.extendedL2();
        this.l2EntrySize = header.l2EntrySize();
        this.l2Entries = (int) (clusterSize / l2EntrySize);
        this.hasDataFile = header.hasFeature(Features.INCOMPAT_DATA_FILE);
        this.csizeShift = 62 - (clusterBits - 8);
        this.csizeMask = (1L << (clusterBits - 8)) - 1;
        this.clusterOffsetMask = (1L << csizeShift) - 1;
        int bits = header.refcountBits();
        this.refcountMax = bits == 64 ? -1L : (1L << bits) - 1;
        this.l1Table = image.l1Table().clone();
        this.tables = new TableReader(file, (int) clusterSize);
        this.stored = new StoredRefcounts(tables.mapped(), clusterBits, header.refcountOrder(),
                image.refcountTable().clone(), file);
        this.reftableOffset = header.refcountTableOffset();
        this.incompatibleFeatures = header.incompatibleFeatures();
    }

    /**
     * Runs one check pass (qcow2_co_check) on an image loaded from {@code file}; with a repairing mode the file
     * must be writable. Returns the counts; throws when the check could not be completed.
     */
    public static CheckResult check(Qcow2Metadata image, CheckMode mode, PrintWriter err, Session session)
            throws IOException, CheckFailedException {
        if (session.driverGone) {
            throw new CheckFailedException("No medium found");
        }
        CheckResult snapshotRes = new CheckResult();
        SnapshotTable snapshots;
        try {
            snapshots = SnapshotTable.read(image.file(), image.header(), mode, err, snapshotRes);
        } finally {
            err.flush();
        }
        image.replaceSnapshots(snapshots.entries, snapshots.size);
        Qcow2Checker c = new Qcow2Checker(image, mode, err, session);
        try {
            c.checkRefcounts();
            if (mode.fixErrors() && snapshotRes.corruptions != 0) {
                // qcow2_check_fix_snapshot_table: only the snapshot table's own corruptions make it rewrite it
                String failure = c.writeSnapshotTable(snapshots);
                if (failure != null) {
                    snapshotRes.checkErrors++;
                    err.println("ERROR failed to update snapshot table: " + failure);
                    throw new CheckFailedException(failure);
                }
                snapshotRes.corruptionsFixed += snapshotRes.corruptions;
                snapshotRes.corruptions = 0;
            }
            c.res.corruptions += snapshotRes.corruptions;
            c.res.leaks += snapshotRes.leaks;
            c.res.checkErrors += snapshotRes.checkErrors;
            c.res.corruptionsFixed += snapshotRes.corruptionsFixed;
            c.res.leaksFixed += snapshotRes.leaksFixed;
            c.markCleanIfRepaired();
            return c.res;
        } finally {
            c.tables.close();
            err.flush();
        }
    }

    // ------------------------------------------------------------------ qcow2_check_refcounts

    private void checkRefcounts() throws IOException, CheckFailedException {
        fileLength = file.size();
        long nbClusters = sizeToClusters(fileLength);
        if (nbClusters > Integer.MAX_VALUE) {
            res.checkErrors++;
            throw new CheckFailedException("File too large");
        }
        long virtualBytes = (header.size() >>> 9) << 9; // bs->total_sectors * 512
        res.totalClusters = sizeToClusters(virtualBytes);
        counts = new ReferenceCounts(nbClusters, refcountMax);

        long t0 = System.nanoTime();
        if (!mode.repairs()) {
            // Without repairs the stored refcounts do not change, so OFLAG_COPIED can be checked while the
            // active L2 tables are in memory for counting; the findings are reported after the comparison.
            copied = new CopiedFindings();
        }
        calculateRefcounts(mode);
        long t1 = System.nanoTime();
        CheckResult preCompare = res.copy();
        compareRefcounts(CheckMode.NONE);
        long t2 = System.nanoTime();
        if (TIMING) {
            System.err.printf("calculate %d ms, compare %d ms%n", (t1 - t0) / 1000000, (t2 - t1) / 1000000);
        }

        if (rebuild && mode.fixErrors()) {
            CheckResult old = res.copy();
            long freshLeaks = 0;
            err.println("Rebuilding refcount structure");
            rebuildRefcountStructure();
            fileLength = file.size(); // the new structure may lie past the old end of the file
            res.corruptions = 0;
            res.leaks = 0;
            rebuild = false;
            counts.clear();
            calculateRefcounts(CheckMode.NONE);
            if (mode.fixLeaks()) {
                CheckResult saved = res;
                res = new CheckResult();
                compareRefcounts(CheckMode.LEAKS);
                if (rebuild) {
                    err.println("ERROR rebuilt refcount structure is still broken");
                }
                freshLeaks = res.leaks;
                res = saved;
            }
            if (res.corruptions < old.corruptions) {
                res.corruptionsFixed += old.corruptions - res.corruptions;
            }
            if (res.leaks < old.leaks) {
                res.leaksFixed += old.leaks - res.leaks;
            }
            res.leaks += freshLeaks;
        } else if (mode.repairs()) {
            if (rebuild) {
                err.println("ERROR need to rebuild refcount structures");
                res.checkErrors++;
                throw new CheckFailedException("Input/output error");
            }
            if (res.leaks != 0 || res.corruptions != 0) {
                res = preCompare;
                compareRefcounts(mode);
            }
        }
        if (stored.hasDirtyBlocks()) {
            stored.flush();
            file.flush(); // refcounts reach the disk before any OFLAG_COPIED change that relies on them
        }
        long t3 = System.nanoTime();
        if (copied != null && !copied.overflow) {
            copied.report();
        } else {
            checkOflagCopied();
        }
        if (TIMING) {
            System.err.printf("oflag %d ms%n", (System.nanoTime() - t3) / 1000000);
        }
        res.imageEndOffset = (highestCluster + 1) * clusterSize;
    }

    private long sizeToClusters(long bytes) {
        return (bytes + clusterSize - 1) >>> clusterBits;
    }

    // ------------------------------------------------------------------ counting references

    /** qcow2_inc_refcounts_imrt: one more reference to every cluster touching [offset, offset + size). */
    private void incRefcounts(long offset, long size) {
        if (size <= 0) {
            return;
        }
        if (offset + size - fileLength >= clusterSize) {
            err.println("ERROR: counting reference for region exceeding the end of the file by one cluster or more:"
                    + " offset 0x" + Long.toHexString(offset) + " size 0x" + Long.toHexString(size));
            res.corruptions++;
            return;
        }
        long start = offset & ~(clusterSize - 1);
        long last = (offset + size - 1) & ~(clusterSize - 1);
        for (long c = start; c <= last; c += clusterSize) {
            incCluster(c);
        }
    }

    private void incCluster(long clusterOffset) {
        long k = clusterOffset >>> clusterBits;
        if (k >= counts.size()) {
            counts.grow(k + 1);
        }
        if (!counts.increment(k)) {
            err.println("ERROR: overflow cluster offset=0x" + Long.toHexString(clusterOffset));
            err.println("Use qemu-img amend to increase the refcount entry width or qemu-img convert to create a"
                    + " clean copy if the image cannot be opened for writing");
            res.corruptions++;
        }
    }

    private void calculateRefcounts(CheckMode fix) throws IOException, CheckFailedException {
        incRefcounts(0, clusterSize);
        checkRefcountsL1(header.l1TableOffset(), header.l1Size(), FRAG_INFO, fix, true);

        List<SnapshotEntry> snapshots = image.snapshots();
        if (hasDataFile && !snapshots.isEmpty()) {
            err.println("ERROR " + snapshots.size() + " snapshots in image with data file");
            res.corruptions++;
        }
        for (SnapshotEntry sn : snapshots) {
            if ((sn.l1TableOffset() & (clusterSize - 1)) != 0) {
                err.println("ERROR snapshot " + sn.id() + " (" + sn.name() + ") l1_offset="
                        + hashHex(sn.l1TableOffset())
                        + ": L1 table is not cluster aligned; snapshot table entry corrupted");
                res.corruptions++;
                continue;
            }
            if (Integer.toUnsignedLong(sn.l1Size()) > Limits.MAX_L1_SIZE / 8) {
                err.println("ERROR snapshot " + sn.id() + " (" + sn.name() + ") l1_size="
                        + hashHex(Integer.toUnsignedLong(sn.l1Size()))
                        + ": L1 table is too large; snapshot table entry corrupted");
                res.corruptions++;
                continue;
            }
            checkRefcountsL1(sn.l1TableOffset(), sn.l1Size(), 0, fix, false);
        }
        incRefcounts(header.snapshotsOffset(), image.snapshotTableSize());

        incRefcounts(reftableOffset, (long) stored.table().length * 8);

        CryptoHeaderPointer crypto = image.cryptoHeader();
        if (crypto != null && crypto.length() != 0) {
            incRefcounts(crypto.offset(), crypto.length());
        }

        checkBitmapsRefcounts();
        checkRefblocks(fix);
    }

    private void checkRefcountsL1(long l1Offset, int l1Size, int flags, CheckMode fix, boolean active)
            throws IOException, CheckFailedException {
        if (l1Size == 0) {
            return;
        }
        long bytes = Integer.toUnsignedLong(l1Size) * 8;
        incRefcounts(l1Offset, bytes);
        if (StoredRefcounts.outsideBlockLayer(l1Offset, bytes)) {
            // a snapshot's L1 table where the block layer refuses to read (-EIO)
            err.println("ERROR: I/O error in check_refcounts_l1");
            res.checkErrors++;
            throw new CheckFailedException("Input/output error");
        }
        long[] l1 = readLongs(l1Offset, (int) (bytes / 8));
        int n = 0;
        long[] l2Offsets = new long[l1.length];
        for (long e : l1) {
            if (e != 0) {
                l2Offsets[n++] = e & L1E_OFFSET_MASK;
            }
        }
        TableReader.Batch batch = tables.open(l2Offsets, n);
        int k = 0;
        for (int i = 0; i < l1.length; i++) {
            long e = l1[i];
            if (e == 0) {
                continue;
            }
            if ((e & L1E_RESERVED_MASK) != 0) {
                err.println("ERROR found L1 entry with reserved bits set: " + Long.toHexString(e));
                res.corruptions++;
            }
            long l2Offset = e & L1E_OFFSET_MASK;
            incRefcounts(l2Offset, clusterSize);
            if ((l2Offset & (clusterSize - 1)) != 0) {
                err.println("ERROR l2_offset=" + Long.toHexString(l2Offset)
                        + ": Table is not cluster aligned; L1 entry corrupted");
                res.corruptions++;
            }
            boolean checkCopied = active && copied != null && l2Offset != 0;
            if (checkCopied) {
                copied.checkL1Entry(i, e);
            }
            ByteBuffer table = batch.get(k++);
            checkRefcountsL2(l2Offset, table, flags, fix, active, checkCopied);
        }
    }

    /**
     * The stored refcount of the data cluster an L2 entry points to (data file clusters always count 1); null when
     * it cannot be read, in which case QEMU skips the OFLAG_COPIED comparison.
     */
    private Long dataClusterRefcount(long entry) throws IOException {
        if (hasDataFile) {
            return 1L;
        }
        try {
            return stored.get((entry & L2E_OFFSET_MASK) >>> clusterBits);
        } catch (StoredRefcounts.UnreadableRefcount e) {
            return null;
        }
    }

    /** The entry's type as one of the constants above, which follow L2Entry.Type's order. */
    private int clusterType(long entry) {
        return L2Entry.type(entry, extendedL2, hasDataFile).ordinal();
    }

    private long[] words;

    private void checkRefcountsL2(long l2Offset, ByteBuffer table, int flags, CheckMode fix, boolean active,
                                  boolean checkCopied) throws IOException {
        long nextContiguous = 0;
        boolean frag = (flags & FRAG_INFO) != 0;
        int stride = extendedL2 ? 2 : 1;
        if (words == null) {
            words = new long[l2Entries * stride];
        }
        table.asLongBuffer().get(0, words);
        long[] w = words;
        long fastMask = OFLAG_COMPRESSED | L2E_STD_RESERVED_MASK | (extendedL2 ? 0 : OFLAG_ZERO)
                | ((clusterSize - 1) & L2E_OFFSET_MASK);
        boolean fastOk = !hasDataFile;
        long fileEnd = fileLength;
        for (int i = 0; i < l2Entries; i++) {
            long entry = w[i * stride];
            long bitmap = extendedL2 ? w[i * stride + 1] : 0;
            if (entry == 0 && bitmap == 0) {
                continue;
            }
            long offset = entry & L2E_OFFSET_MASK;
            if (fastOk && (entry & fastMask) == 0 && offset != 0 && ((bitmap >>> 32) & bitmap) == 0
                    && offset + clusterSize <= fileEnd) {
                // the common case: an aligned data cluster inside the file, nothing to report
                if (checkCopied) {
                    copied.checkL2Entry(entry);
                }
                if (frag) {
                    res.allocatedClusters++;
                    if (nextContiguous != 0 && offset != nextContiguous) {
                        res.fragmentedClusters++;
                    }
                    nextContiguous = offset + clusterSize;
                }
                long k = offset >>> clusterBits;
                if (k >= counts.size() || !counts.incrementFast(k)) {
                    incCluster(offset);
                }
                continue;
            }
            nextContiguous = checkL2EntrySlow(l2Offset, table, i, entry, bitmap, nextContiguous, frag, fix, active,
                    checkCopied);
            if (nextContiguous == ABORT_TABLE) {
                return;
            }
        }
    }

    private static final long ABORT_TABLE = Long.MIN_VALUE;

    /** Checks one L2 entry that is not a plain data cluster; returns the next contiguous offset. */
    private long checkL2EntrySlow(long l2Offset, ByteBuffer table, int i, long entry, long bitmap,
                                  long nextContiguous, boolean frag, CheckMode fix, boolean active,
                                  boolean checkCopied) throws IOException {
        int type = clusterType(entry);
        if (type != COMPRESSED && (entry & L2E_STD_RESERVED_MASK) != 0) {
            err.println("ERROR found l2 entry with reserved bits set: " + Long.toHexString(entry));
            res.corruptions++;
        }
        switch (type) {
            case COMPRESSED -> {
                if ((entry & OFLAG_COPIED) != 0) {
                    err.println("ERROR: coffset=0x" + Long.toHexString(entry & clusterOffsetMask)
                            + ": copied flag must never be set for compressed clusters");
                    entry &= ~OFLAG_COPIED;
                    res.corruptions++;
                }
                if (hasDataFile) {
                    err.println("ERROR compressed cluster " + i + " with data file, entry=0x"
                            + Long.toHexString(entry));
                    res.corruptions++;
                    break;
                }
                if (bitmap != 0) {
                    err.println("ERROR compressed cluster " + i + " with non-zero subcluster allocation bitmap,"
                            + " entry=0x" + Long.toHexString(entry));
                    res.corruptions++;
                    break;
                }
                long coffset = entry & clusterOffsetMask;
                long sectors = ((entry >>> csizeShift) & csizeMask) + 1;
                long csize = sectors * 512 - (coffset & 511);
                incRefcounts(coffset, csize);
                if (frag) {
                    res.allocatedClusters++;
                    res.compressedClusters++;
                    res.fragmentedClusters++; // compressed clusters count as fragmented
                }
            }
            case ZERO_ALLOC, NORMAL -> {
                long offset = entry & L2E_OFFSET_MASK;
                if (((bitmap >>> 32) & bitmap) != 0) {
                    res.corruptions++;
                    err.println("ERROR offset=" + Long.toHexString(offset)
                            + ": Allocated cluster has corrupted subcluster allocation bitmap");
                }
                if ((offset & (clusterSize - 1)) != 0) {
                    res.corruptions++;
                    boolean containsData = extendedL2 ? (bitmap & BITMAP_ALL_ALLOC) != 0
                            : (entry & OFLAG_ZERO) == 0;
                    if (!containsData) {
                        err.println((fix.fixErrors() ? "Repairing" : "ERROR") + " offset="
                                + Long.toHexString(offset)
                                + ": Preallocated cluster is not properly aligned; L2 entry corrupted.");
                        if (fix.fixErrors()) {
                            int r = fixL2EntryByZero(l2Offset, table, i, active);
                            if (r == FIX_OVERLAP) {
                                return ABORT_TABLE; // something is seriously wrong: stop checking this table
                            }
                            if (r == FIX_OK) {
                                return nextContiguous; // the cluster is unused now
                            }
                        }
                    } else {
                        err.println("ERROR offset=" + Long.toHexString(offset)
                                + ": Data cluster is not properly aligned; L2 entry corrupted.");
                    }
                }
                if (checkCopied) {
                    copied.checkL2Entry(entry);
                }
                if (frag) {
                    res.allocatedClusters++;
                    if (nextContiguous != 0 && offset != nextContiguous) {
                        res.fragmentedClusters++;
                    }
                    nextContiguous = offset + clusterSize;
                }
                if (!hasDataFile) {
                    incRefcounts(offset, clusterSize); // an unaligned offset touches two clusters
                }
            }
            case ZERO_PLAIN -> {
                // nothing allocated; extended L2 never gets here
            }
            default -> {
                if ((bitmap & BITMAP_ALL_ALLOC) != 0) {
                    res.corruptions++;
                    err.println("ERROR: Unallocated cluster has non-zero subcluster allocation map");
                }
            }
        }
        return nextContiguous;
    }

    private static final int FIX_OK = 0;
    private static final int FIX_FAILED = 1;
    private static final int FIX_OVERLAP = 2;

    /** Turns a preallocated zero cluster whose offset is unaligned into a plain zero cluster. */
    private int fixL2EntryByZero(long l2Offset, ByteBuffer table, int index, boolean active) throws IOException {
        int pos = index * l2EntrySize;
        if (extendedL2) {
            long bitmap = table.getLong(pos + 8);
            bitmap |= bitmap << 32;
            bitmap &= BITMAP_ALL_ZEROES;
            table.putLong(pos + 8, bitmap);
            table.putLong(pos, 0);
        } else {
            table.putLong(pos, OFLAG_ZERO);
        }
        long entryOffset = l2Offset + pos;
        int ignore = active ? Overlaps.ACTIVE_L2 : Overlaps.INACTIVE_L2;
        if (!preWriteOverlapCheck(ignore, entryOffset, l2EntrySize)) {
            err.println("ERROR: Overlap check failed");
            res.checkErrors++;
            return FIX_OVERLAP;
        }
        ByteBuffer b = table.duplicate();
        b.position(pos).limit(pos + l2EntrySize);
        file.writeFully(entryOffset, b);
        file.flush();
        res.corruptions--;
        res.corruptionsFixed++;
        return FIX_OK;
    }

    private void checkBitmapsRefcounts() throws IOException, CheckFailedException {
        List<BitmapDirectoryEntry> bitmaps = image.bitmaps();
        if (bitmaps.isEmpty()) {
            return;
        }
        BitmapsExtension ext = image.bitmapsExtension();
        incRefcounts(ext.bitmapDirectoryOffset(), ext.bitmapDirectorySize());
        for (BitmapDirectoryEntry bm : bitmaps) {
            long entries = Integer.toUnsignedLong(bm.bitmapTableSize());
            incRefcounts(bm.bitmapTableOffset(), entries * 8);
            if (entries > dev.q2.format.BitmapDirectoryEntry.MAX_TABLE_SIZE) { // QEMU refuses to load a larger table
                res.corruptions++;
                throw new CheckFailedException("Invalid argument");
            }
            if (StoredRefcounts.outsideBlockLayer(bm.bitmapTableOffset(), entries * 8)) {
                res.corruptions++; // bitmap_table_load: the read fails (-EIO)
                throw new CheckFailedException("Input/output error");
            }
            // bitmap_table_load validates the whole table first: one bad entry fails the check (-EINVAL)
            for (int pass = 0; pass < 2; pass++) {
                for (long first = 0; first < entries; first += 65536) {
                    int n = (int) Math.min(65536, entries - first);
                    long[] chunk = readLongs(bm.bitmapTableOffset() + first * 8, n);
                    for (long e : chunk) {
                        long offset = e & BME_OFFSET_MASK;
                        if (pass == 0) {
                            if ((e & BME_RESERVED_MASK) != 0 || (offset & (clusterSize - 1)) != 0
                                    || ((e & 1) != 0 && offset != 0)) {
                                res.corruptions++;
                                throw new CheckFailedException("Invalid argument");
                            }
                        } else if (offset != 0) {
                            incRefcounts(offset, clusterSize);
                        }
                    }
                }
            }
        }
    }

    private void checkRefblocks(CheckMode fix) throws IOException {
        long[] table = stored.table();
        for (int i = 0; i < table.length; i++) {
            long offset = table[i] & StoredRefcounts.REFT_OFFSET_MASK;
            long cluster = offset >>> clusterBits;
            if ((table[i] & REFT_RESERVED_MASK) != 0) {
                err.println("ERROR refcount table entry " + i + " has reserved bits set");
                res.corruptions++;
                rebuild = true;
                continue;
            }
            if ((offset & (clusterSize - 1)) != 0) {
                err.println("ERROR refcount block " + i
                        + " is not cluster aligned; refcount table entry corrupted");
                res.corruptions++;
                rebuild = true;
                continue;
            }
            if (cluster >= counts.size()) {
                res.corruptions++;
                err.println((fix.fixErrors() ? "Repairing" : "ERROR") + " refcount block " + i
                        + " is outside image");
                if (fix.fixErrors()) {
                    // Grow the file so that the block is inside it (it reads as zeros, as it did before). Where
                    // the file cannot grow there, QEMU gives up on the block and rebuilds the refcount structure.
                    String failure = null;
                    long newLength = offset + clusterSize;
                    if (offset < 0 || offset > Long.MAX_VALUE - clusterSize) {
                        failure = "Invalid argument";
                    } else if (newLength > StoredRefcounts.BDRV_MAX_LENGTH) {
                        // bdrv_co_truncate refuses a length the block layer cannot address
                        err.println("q2: offset(" + newLength + ") exceeds maximum(" + StoredRefcounts.BDRV_MAX_LENGTH
                                + ")");
                        failure = "Input/output error";
                    } else {
                        try {
                            file.setLength(newLength);
                            file.flush();
                        } catch (IOException e) {
                            failure = e.getMessage() == null ? "Input/output error" : e.getMessage();
                            err.println("q2: Could not resize file: " + failure); // error_report_err of the truncate
                        }
                    }
                    if (failure != null) {
                        rebuild = true;
                        err.println("ERROR could not resize image: " + failure);
                        continue;
                    }
                    fileLength = file.size();
                    counts.grow(sizeToClusters(fileLength));
                    res.corruptions--;
                    res.corruptionsFixed++;
                    incRefcounts(offset, clusterSize);
                }
                continue;
            }
            if (offset != 0) {
                incRefcounts(offset, clusterSize);
                long r = counts.get(cluster);
                if (r != 1) {
                    err.println("ERROR refcount block " + i + " refcount=" + Long.toUnsignedString(r));
                    res.corruptions++;
                    rebuild = true;
                }
            }
        }
    }

    // ------------------------------------------------------------------ comparing

    private void compareRefcounts(CheckMode fix) throws IOException {
        long nb = counts.size();
        int chunkBits = Math.min(stored.blockBits(), ReferenceCounts.PAGE_BITS);
        long chunk = 1L << chunkBits;
        highestCluster = 0;
        for (long base = 0; base < nb; base += chunk) {
            long end = Math.min(nb, base + chunk);
            if (stored.blockOffsetFor(base) == 0 && counts.pageEmpty(base)) {
                continue; // no stored refcounts and no references in this range
            }
            ByteBuffer block;
            try {
                block = stored.blockFor(base);
            } catch (StoredRefcounts.UnreadableRefcount e) {
                block = null;
                for (long i = base; i < end; i++) {
                    unreadable(i, e); // QEMU skips the cluster entirely, even for image-end-offset
                }
                continue;
            }
            int order = header.refcountOrder();
            long mask = (1L << stored.blockBits()) - 1;
            char[] page = counts.page(base);
            boolean narrowCounts = refcountMax >= 0 && refcountMax < 0xffff;
            int pageMask = ReferenceCounts.PAGE_SIZE - 1;
            for (long i = base; i < end; i++) {
                long r1;
                if (block == null) {
                    r1 = 0;
                } else if (order == 4) {
                    r1 = block.getChar((int) (i & mask) << 1);
                } else {
                    r1 = RefcountBlock.get(block, order, (int) (i & mask));
                }
                long r2 = page == null ? 0 : page[(int) i & pageMask];
                if (r2 == 0xffff && !narrowCounts) {
                    r2 = counts.get(i);
                }
                if ((r1 | r2) != 0) {
                    highestCluster = i;
                    if (r1 != r2) {
                        mismatch(i, r1, r2, fix);
                    }
                }
            }
        }
    }

    private void unreadable(long cluster, StoredRefcounts.UnreadableRefcount e) {
        if (e.unaligned) {
            signalCorruption("Refblock offset " + hashHex(e.blockOffset) + " unaligned (reftable index: "
                + hashHex(e.tableIndex) + ")");
        }
        err.println("Can't get refcount for cluster " + cluster + ": Input/output error");
        res.checkErrors++;
    }

    private void mismatch(long i, long r1, long r2, CheckMode fix) throws IOException {
        int cmp = Long.compareUnsigned(r1, r2);
        boolean fixLeak = false;
        boolean fixCorruption = false;
        if (r1 == 0) {
            rebuild = true;
        } else if (cmp > 0 && fix.fixLeaks()) {
            fixLeak = true;
        } else if (cmp < 0 && fix.fixErrors()) {
            fixCorruption = true;
        }
        String what = fixLeak || fixCorruption ? "Repairing" : cmp < 0 ? "ERROR" : "Leaked";
        err.println(what + " cluster " + i + " refcount=" + Long.toUnsignedString(r1) + " reference="
                + Long.toUnsignedString(r2));
        if (fixLeak || fixCorruption) {
            try {
                stored.set(i, r2);
                if (fixLeak) {
                    res.leaksFixed++;
                } else {
                    res.corruptionsFixed++;
                }
                return;
            } catch (StoredRefcounts.UnreadableRefcount e) {
                // fall through: count it as not fixed
            }
        }
        if (cmp < 0) {
            res.corruptions++;
        } else {
            res.leaks++;
        }
    }

    // ------------------------------------------------------------------ OFLAG_COPIED

    /**
     * OFLAG_COPIED mismatches of the active tables found during the counting walk, kept compactly (three longs
     * each) until they can be reported in qemu-img's order. Past {@link #MAX_FINDINGS} they are dropped and the
     * separate OFLAG_COPIED pass runs instead, so memory stays bounded on hostile images.
     */
    private final class CopiedFindings {
        static final int MAX_FINDINGS = 1 << 18;
        private long[] rec = new long[3 * 64];
        private int n;
        boolean overflow;

        void checkL1Entry(int index, long l1Entry) throws IOException {
            long r;
            try {
                r = stored.get((l1Entry & L1E_OFFSET_MASK) >>> clusterBits);
            } catch (StoredRefcounts.UnreadableRefcount e) {
                return;
            }
            if ((r == 1) != ((l1Entry & OFLAG_COPIED) != 0)) {
                add(index, l1Entry, r);
            }
        }

        void checkL2Entry(long entry) throws IOException {
            Long r = dataClusterRefcount(entry);
            if (r == null) {
                return;
            }
            if ((r == 1) != ((entry & OFLAG_COPIED) != 0)) {
                add(-1, entry, r);
            }
        }

        private void add(long tag, long entry, long refcount) {
            if (overflow) {
                return;
            }
            if (n == MAX_FINDINGS) {
                overflow = true;
                rec = null;
                return;
            }
            if (3 * n + 3 > rec.length) {
                rec = java.util.Arrays.copyOf(rec, rec.length * 2);
            }
            rec[3 * n] = tag;
            rec[3 * n + 1] = entry;
            rec[3 * n + 2] = refcount;
            n++;
        }

        void report() {
            for (int k = 0; k < n; k++) {
                long tag = rec[3 * k];
                if (tag >= 0) {
                    err.println("ERROR OFLAG_COPIED L2 cluster: l1_index=" + tag + " l1_entry="
                            + Long.toHexString(rec[3 * k + 1]) + " refcount=" + Long.toUnsignedString(rec[3 * k + 2]));
                } else {
                    err.println("ERROR OFLAG_COPIED data cluster: l2_entry=" + Long.toHexString(rec[3 * k + 1])
                            + " refcount=" + Long.toUnsignedString(rec[3 * k + 2]));
                }
            }
            res.corruptions += n;
        }
    }

    private void checkOflagCopied() throws IOException, CheckFailedException {
        boolean repair;
        if (mode.fixErrors()) {
            repair = true;
        } else if (mode.fixLeaks()) {
            // safe only when the refcounts are now right
            repair = res.checkErrors == 0 && res.corruptions == 0 && res.leaks == 0;
        } else {
            repair = false;
        }
        int n = 0;
        long[] l2Offsets = new long[l1Table.length];
        for (long e : l1Table) {
            if ((e & L1E_OFFSET_MASK) != 0) {
                l2Offsets[n++] = e & L1E_OFFSET_MASK;
            }
        }
        TableReader.Batch batch = repair ? null : tables.open(l2Offsets, n);
        int k = 0;
        for (int i = 0; i < l1Table.length; i++) {
            long l1Entry = l1Table[i];
            long l2Offset = l1Entry & L1E_OFFSET_MASK;
            if (l2Offset == 0) {
                continue;
            }
            ByteBuffer table = batch != null ? batch.get(k++) : null;
            long refcount;
            try {
                refcount = stored.get(l2Offset >>> clusterBits);
            } catch (StoredRefcounts.UnreadableRefcount e) {
                continue;
            }
            if ((refcount == 1) != ((l1Entry & OFLAG_COPIED) != 0)) {
                res.corruptions++;
                err.println((repair ? "Repairing" : "ERROR") + " OFLAG_COPIED L2 cluster: l1_index=" + i
                        + " l1_entry=" + Long.toHexString(l1Entry) + " refcount=" + Long.toUnsignedString(refcount));
                if (repair) {
                    l1Table[i] = refcount == 1 ? l1Entry | OFLAG_COPIED : l1Entry & ~OFLAG_COPIED;
                    long pos = header.l1TableOffset() + 8L * i;
                    if (!preWriteOverlapCheck(Overlaps.ACTIVE_L1, pos, 8)) {
                        res.checkErrors++;
                        throw new CheckFailedException("Input/output error");
                    }
                    ByteBuffer b = ByteBuffer.allocate(8).putLong(0, l1Table[i]);
                    file.writeFully(pos, b);
                    file.flush();
                    res.corruptions--;
                    res.corruptionsFixed++;
                }
            }
            if (table == null) {
                table = ByteBuffer.allocate((int) clusterSize).order(ByteOrder.BIG_ENDIAN);
                file.readZeroFilled(l2Offset, table);
                table.clear();
            }
            int dirty = 0;
            for (int j = 0; j < l2Entries; j++) {
                long entry = table.getLong(j * l2EntrySize);
                if (entry == 0) {
                    continue;
                }
                int type = clusterType(entry);
                if (type != NORMAL && type != ZERO_ALLOC) {
                    continue;
                }
                Long r = dataClusterRefcount(entry);
                if (r == null) {
                    continue;
                }
                if ((r == 1) != ((entry & OFLAG_COPIED) != 0)) {
                    res.corruptions++;
                    err.println((repair ? "Repairing" : "ERROR") + " OFLAG_COPIED data cluster: l2_entry="
                            + Long.toHexString(entry) + " refcount=" + Long.toUnsignedString(r));
                    if (repair) {
                        table.putLong(j * l2EntrySize, r == 1 ? entry | OFLAG_COPIED : entry & ~OFLAG_COPIED);
                        dirty++;
                    }
                }
            }
            if (dirty > 0) {
                if (!preWriteOverlapCheck(Overlaps.ACTIVE_L2, l2Offset, clusterSize)) {
                    err.println("ERROR: Could not write L2 table; metadata overlap check failed: Input/output error");
                    res.checkErrors++;
                    throw new CheckFailedException("Input/output error");
                }
                ByteBuffer b = table.duplicate();
                b.clear();
                file.writeFully(l2Offset, b);
                file.flush();
                res.corruptions -= dirty;
                res.corruptionsFixed += dirty;
            }
        }
    }

    // ------------------------------------------------------------------ rebuilding the refcount structure

    private void rebuildRefcountStructure() throws IOException, CheckFailedException {
        new RefcountRebuilder(this).rebuild();
    }

    /** Allocation in the counted references (alloc_clusters_imrt); returns the host offset. */
    long allocInCounts(int clusterCount, long[] firstFree) {
        long cluster = firstFree[0];
        boolean firstGap = true;
        int contiguous = 0;
        long nb = counts.size();
        for (; cluster < nb && contiguous < clusterCount; cluster++) {
            if (counts.get(cluster) == 0) {
                contiguous++;
                if (firstGap) {
                    firstFree[0] = cluster;
                    firstGap = false;
                }
            } else if (contiguous != 0) {
                contiguous = 0;
            }
        }
        if (contiguous < clusterCount) {
            counts.grow(cluster + clusterCount - contiguous);
        }
        cluster -= contiguous;
        for (int i = 0; i < clusterCount; i++) {
            counts.set(cluster + i, 1);
        }
        return cluster << clusterBits;
    }

    /** The counted references of refcount block {@code index}, encoded as a refcount block. */
    ByteBuffer encodeBlock(long index) {
        int bits = stored.blockBits();
        long first = index << bits;
        ByteBuffer b = ByteBuffer.allocate((int) clusterSize).order(ByteOrder.BIG_ENDIAN);
        int order = header.refcountOrder();
        for (int j = 0; j < (1 << bits); j++) {
            long c = first + j;
            if (j % ReferenceCounts.PAGE_SIZE == 0 && counts.pageEmpty(c)) {
                j += ReferenceCounts.PAGE_SIZE - 1;
                continue;
            }
            long v = counts.get(c);
            if (v != 0) {
                RefcountBlock.set(b, order, j, v);
            }
        }
        return b;
    }

    ReferenceCounts counts() {
        return counts;
    }

    ImageFile file() {
        return file;
    }

    long clusterSize() {
        return clusterSize;
    }

    int clusterBits() {
        return clusterBits;
    }

    int refcountBlockBits() {
        return stored.blockBits();
    }

    CheckResult result() {
        return res;
    }

    PrintWriter errWriter() {
        return err;
    }

    /** Switches the in-memory state to a new refcount table that the header now points at. */
    void switchRefcountTable(long offset, long[] table) {
        reftableOffset = offset;
        stored.replaceTable(table);
    }

    // ------------------------------------------------------------------ rewriting the snapshot table

    /**
     * qcow2_write_snapshots after a check repair: the table as read (snapshots dropped, extra data cut, incomplete
     * entries completed) is written into clusters QEMU's allocator would pick (first fit from cluster 0 over the
     * repaired refcounts), their refcounts are raised and flushed, the table is written and flushed, and only then
     * does the header point at it (12 bytes, flushed); the old table's clusters are freed last. Returns null, or
     * the error text for {@code ERROR failed to update snapshot table}.
     */
    private String writeSnapshotTable(SnapshotTable t) throws IOException {
        long size = t.newSize();
        if (size > Limits.MAX_SNAPSHOTS_SIZE) {
            return "File too large";
        }
        long nbClusters = sizeToClusters(size);
        long first = 0; // an empty table: QEMU's allocator answers the free-cluster cursor, which is 0 here
        if (nbClusters > 0) {
            try {
                long run = 0;
                for (long c = 0; run < nbClusters; c++) {
                    if (stored.get(c) != 0) {
                        run = 0;
                        continue;
                    }
                    if (run++ == 0) {
                        first = c;
                    }
                }
                for (long c = first; c < first + nbClusters; c++) {
                    if (stored.blockOffsetFor(c) == 0) {
                        // QEMU would allocate a refcount block here; q2 does not, and writes nothing
                        return "Operation not supported (q2 cannot allocate a refcount block for the new snapshot"
                                + " table)";
                    }
                }
            } catch (StoredRefcounts.UnreadableRefcount e) {
                return "Input/output error";
            }
        }
        long offset = first << clusterBits;
        if (size > 0 && !preWriteOverlapCheck(0, offset, size)) {
            return "Input/output error";
        }
        try {
            for (long c = first; c < first + nbClusters; c++) {
                stored.set(c, 1);
            }
        } catch (StoredRefcounts.UnreadableRefcount e) {
            return "Input/output error";
        }
        stored.flush();
        file.flush(); // the new clusters are allocated on disk before anything is written into them
        if (size > 0) {
            file.writeFully(offset, t.encode(header.size()));
        }
        file.flush(); // the new table is on disk before the header points at it
        ByteBuffer h = ByteBuffer.allocate(12).order(ByteOrder.BIG_ENDIAN);
        h.putInt(0, t.entries.size()).putLong(4, offset);
        file.writeFully(60, h);
        file.flush();
        // qcow2_free_clusters on the old table
        long oldOffset = header.snapshotsOffset();
        long oldSize = image.snapshotTableSize();
        if (oldSize > 0) {
            long start = oldOffset >>> clusterBits;
            long end = (oldOffset + oldSize - 1) >>> clusterBits;
            try {
                for (long c = start; c <= end; c++) {
                    long r = stored.get(c);
                    if (r == 0 || stored.blockOffsetFor(c) == 0) {
                        err.println("qcow2_free_clusters failed: Invalid argument");
                        break;
                    }
                    stored.set(c, r - 1);
                }
            } catch (StoredRefcounts.UnreadableRefcount e) {
                err.println("qcow2_free_clusters failed: Input/output error");
            }
            stored.flush();
            file.flush();
        }
        return null;
    }

    // ------------------------------------------------------------------ metadata overlap and corruption

    /** qcow2_pre_write_overlap_check: false (after signalling corruption) when the write would hit metadata. */
    boolean preWriteOverlapCheck(int ignore, long offset, long size) throws IOException {
        String hit = new Overlaps(image, header, l1Table, reftableOffset, stored.table(), clusterSize)
                .check(ignore, offset, size);
        if (hit == null) {
            return true;
        }
        signalCorruption("Preventing invalid write on metadata (overlaps with " + hit + ")");
        return false;
    }

    /** qcow2_signal_corruption: reports once; an image open for writing is marked corrupt. */
    private void signalCorruption(String message) {
        boolean fatal = mode.repairs();
        if (session.signaledCorruption && (!fatal || (incompatibleFeatures & Features.INCOMPAT_CORRUPT) != 0)) {
            return;
        }
        if (fatal) {
            err.println("qcow2: Marking image as corrupt: " + message + "; further corruption events will be"
                    + " suppressed");
            try {
                incompatibleFeatures |= Features.INCOMPAT_CORRUPT;
                writeIncompatibleFeatures();
            } catch (IOException e) {
                // the check reports the failure that follows
            }
            session.driverGone = true;
        } else {
            err.println("qcow2: Image is corrupt: " + message + "; further non-fatal corruption events will be"
                    + " suppressed");
        }
        session.signaledCorruption = true;
    }

    private void writeIncompatibleFeatures() throws IOException {
        if (header.version() < 3) {
            return;
        }
        ByteBuffer b = ByteBuffer.allocate(8).putLong(0, incompatibleFeatures);
        file.writeFully(72, b);
        file.flush();
    }

    /** qcow2_mark_clean + qcow2_mark_consistent after a repair that left no corruption. */
    private void markCleanIfRepaired() throws IOException {
        if (!mode.repairs() || res.checkErrors != 0 || res.corruptions != 0) {
            return;
        }
        long bits = incompatibleFeatures & ~(Features.INCOMPAT_DIRTY | Features.INCOMPAT_CORRUPT);
        if (bits != incompatibleFeatures) {
            file.flush();
            incompatibleFeatures = bits;
            writeIncompatibleFeatures();
        }
    }

    // ------------------------------------------------------------------ helpers

    private long[] readLongs(long offset, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n * 8).order(ByteOrder.BIG_ENDIAN);
        file.readZeroFilled(offset, b);
        b.flip();
        long[] out = new long[n];
        b.asLongBuffer().get(out);
        return out;
    }

    /** printf's {@code %#x}: "0" for zero, else 0x and lowercase hex. */
    static String hashHex(long v) {
        return v == 0 ? "0" : "0x" + Long.toHexString(v);
    }
}
