package dev.q2.check;

import dev.q2.check.CheckMessage.Severity;
import dev.q2.format.CryptoHeaderPointer;
import dev.q2.format.SnapshotEntry;
import dev.q2.format.Limits;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Phase 1 of qcow2_check_refcounts (calculate_refcounts): counts the references to every host cluster from the
 * header, the active L1/L2 tables (with the allocation figures), each snapshot's L1/L2 tables, the snapshot table,
 * the refcount table, the encryption header, the bitmaps and the refcount blocks; reports the table entries that
 * are broken on the way, and with {@code -r all} turns misaligned preallocated zero clusters into plain ones.
 */
final class ReferenceWalk {
    static final long BITMAP_ALL_ALLOC = 0xffffffffL;
    static final long BITMAP_ALL_ZEROES = 0xffffffff00000000L;
    /** check_refcounts_l1's flag: gather the allocation figures (the active tables only). */
    private static final int FRAG_INFO = 2;
    private static final long ABORT_TABLE = Long.MIN_VALUE;
    private static final int FIX_OK = 0;
    private static final int FIX_OVERLAP = 2;

    private final CheckContext c;
    /** OFLAG_COPIED findings gathered while the active L2 tables are in memory, or null. */
    private final CopiedFindings copied;
    private final long clusterSize;
    private final int clusterBits;
    private final int l2Entries;
    private final boolean extendedL2;
    private final boolean hasDataFile;
    private long[] words;

    ReferenceWalk(CheckContext context, CopiedFindings copied) {
        this.c = context;
        this.copied = copied;
        this.clusterSize = context.clusterSize;
        this.clusterBits = context.clusterBits;
        this.l2Entries = context.l2Entries;
        this.extendedL2 = context.extendedL2;
        this.hasDataFile = context.hasDataFile;
    }

    /** calculate_refcounts: every reference, counted into {@code c.counts}; {@code fix} says what to repair. */
    void run(CheckMode fix) throws IOException, CheckFailedException {
        c.incRefcounts(0, clusterSize);
        checkRefcountsL1(c.header.l1TableOffset(), c.header.l1Size(), FRAG_INFO, fix, true);

        List<SnapshotEntry> snapshots = c.image.snapshots();
        if (hasDataFile && !snapshots.isEmpty()) {
            c.report(Severity.CORRUPTION, "ERROR " + snapshots.size() + " snapshots in image with data file");
            c.res.corruptions++;
        }
        for (SnapshotEntry sn : snapshots) {
            if ((sn.l1TableOffset() & (clusterSize - 1)) != 0) {
                c.report(Severity.CORRUPTION, "ERROR snapshot " + sn.id() + " (" + sn.name() + ") l1_offset="
                        + CheckContext.hashHex(sn.l1TableOffset())
                        + ": L1 table is not cluster aligned; snapshot table entry corrupted");
                c.res.corruptions++;
                continue;
            }
            if (Integer.toUnsignedLong(sn.l1Size()) > Limits.MAX_L1_SIZE / 8) {
                c.report(Severity.CORRUPTION, "ERROR snapshot " + sn.id() + " (" + sn.name() + ") l1_size="
                        + CheckContext.hashHex(Integer.toUnsignedLong(sn.l1Size()))
                        + ": L1 table is too large; snapshot table entry corrupted");
                c.res.corruptions++;
                continue;
            }
            checkRefcountsL1(sn.l1TableOffset(), sn.l1Size(), 0, fix, false);
        }
        c.incRefcounts(c.header.snapshotsOffset(), c.image.snapshotTableSize());

        c.incRefcounts(c.reftableOffset, (long) c.stored.table().length * 8);

        CryptoHeaderPointer crypto = c.image.cryptoHeader();
        if (crypto != null && crypto.length() != 0) {
            c.incRefcounts(crypto.offset(), crypto.length());
        }

        new BitmapReferences(c).run();
        new RefblockReferences(c).run(fix);
    }

    private void checkRefcountsL1(long l1Offset, int l1Size, int flags, CheckMode fix, boolean active)
            throws IOException, CheckFailedException {
        if (l1Size == 0) {
            return;
        }
        long bytes = Integer.toUnsignedLong(l1Size) * 8;
        c.incRefcounts(l1Offset, bytes);
        if (StoredRefcounts.outsideBlockLayer(l1Offset, bytes)) {
            // a snapshot's L1 table where the block layer refuses to read (-EIO)
            c.report(Severity.CHECK_ERROR, "ERROR: I/O error in check_refcounts_l1");
            c.res.checkErrors++;
            throw new CheckFailedException("Input/output error");
        }
        long[] l1 = c.readLongs(l1Offset, (int) (bytes / 8));
        int n = 0;
        long[] l2Offsets = new long[l1.length];
        for (long e : l1) {
            if (e != 0) {
                l2Offsets[n++] = e & CheckContext.L1E_OFFSET_MASK;
            }
        }
        TableReader.Batch batch = c.tables.open(l2Offsets, n);
        int k = 0;
        for (int i = 0; i < l1.length; i++) {
            long e = l1[i];
            if (e == 0) {
                continue;
            }
            if ((e & CheckContext.L1E_RESERVED_MASK) != 0) {
                c.report(Severity.CORRUPTION, "ERROR found L1 entry with reserved bits set: " + Long.toHexString(e));
                c.res.corruptions++;
            }
            long l2Offset = e & CheckContext.L1E_OFFSET_MASK;
            c.incRefcounts(l2Offset, clusterSize);
            if ((l2Offset & (clusterSize - 1)) != 0) {
                c.report(Severity.CORRUPTION, "ERROR l2_offset=" + Long.toHexString(l2Offset)
                        + ": Table is not cluster aligned; L1 entry corrupted");
                c.res.corruptions++;
            }
            boolean checkCopied = active && copied != null && l2Offset != 0;
            if (checkCopied) {
                copied.checkL1Entry(i, e);
            }
            ByteBuffer table = batch.get(k++);
            checkRefcountsL2(l2Offset, table, flags, fix, active, checkCopied);
            if (active) {
                c.listener.progress(CheckPhase.REFERENCES, i + 1L, l1.length);
            }
        }
    }

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
        long fastMask = CheckContext.OFLAG_COMPRESSED | CheckContext.L2E_STD_RESERVED_MASK
                | (extendedL2 ? 0 : CheckContext.OFLAG_ZERO) | ((clusterSize - 1) & CheckContext.L2E_OFFSET_MASK);
        boolean fastOk = !hasDataFile;
        long fileEnd = c.fileLength;
        ReferenceCounts counts = c.counts;
        for (int i = 0; i < l2Entries; i++) {
            long entry = w[i * stride];
            long bitmap = extendedL2 ? w[i * stride + 1] : 0;
            if (entry == 0 && bitmap == 0) {
                continue;
            }
            long offset = entry & CheckContext.L2E_OFFSET_MASK;
            if (fastOk && (entry & fastMask) == 0 && offset != 0 && ((bitmap >>> 32) & bitmap) == 0
                    && offset + clusterSize <= fileEnd) {
                // the common case: an aligned data cluster inside the file, nothing to report
                nextContiguous = countDataCluster(entry, offset, nextContiguous, frag, checkCopied);
                long k = offset >>> clusterBits;
                if (k >= counts.size() || !counts.incrementFast(k)) {
                    c.incCluster(offset);
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

    /**
     * A data cluster's share of the walk: its OFLAG_COPIED check, and with fragmentation info its counts; returns
     * the offset a contiguous next cluster would have.
     */
    private long countDataCluster(long entry, long offset, long nextContiguous, boolean frag, boolean checkCopied)
            throws IOException {
        if (checkCopied) {
            copied.checkL2Entry(entry);
        }
        if (!frag) {
            return nextContiguous;
        }
        CheckCounts res = c.res;
        res.allocatedClusters++;
        if (nextContiguous != 0 && offset != nextContiguous) {
            res.fragmentedClusters++;
        }
        return offset + clusterSize;
    }

    /** Checks one L2 entry that is not a plain data cluster; returns the next contiguous offset. */
    private long checkL2EntrySlow(long l2Offset, ByteBuffer table, int i, long entry, long bitmap,
                                  long nextContiguous, boolean frag, CheckMode fix, boolean active,
                                  boolean checkCopied) throws IOException {
        CheckCounts res = c.res;
        int type = c.clusterType(entry);
        if (type != CheckContext.COMPRESSED && (entry & CheckContext.L2E_STD_RESERVED_MASK) != 0) {
            c.report(Severity.CORRUPTION, "ERROR found l2 entry with reserved bits set: " + Long.toHexString(entry));
            res.corruptions++;
        }
        switch (type) {
            case CheckContext.COMPRESSED -> {
                if ((entry & CheckContext.OFLAG_COPIED) != 0) {
                    c.report(Severity.CORRUPTION, "ERROR: coffset=0x"
                            + Long.toHexString(entry & c.clusterOffsetMask)
                            + ": copied flag must never be set for compressed clusters");
                    entry &= ~CheckContext.OFLAG_COPIED;
                    res.corruptions++;
                }
                if (hasDataFile) {
                    c.report(Severity.CORRUPTION, "ERROR compressed cluster " + i + " with data file, entry=0x"
                            + Long.toHexString(entry));
                    res.corruptions++;
                    break;
                }
                if (bitmap != 0) {
                    c.report(Severity.CORRUPTION, "ERROR compressed cluster " + i
                            + " with non-zero subcluster allocation bitmap, entry=0x" + Long.toHexString(entry));
                    res.corruptions++;
                    break;
                }
                long coffset = entry & c.clusterOffsetMask;
                long sectors = ((entry >>> c.csizeShift) & c.csizeMask) + 1;
                long csize = sectors * 512 - (coffset & 511);
                c.incRefcounts(coffset, csize);
                if (frag) {
                    res.allocatedClusters++;
                    res.compressedClusters++;
                    res.fragmentedClusters++; // compressed clusters count as fragmented
                }
            }
            case CheckContext.ZERO_ALLOC, CheckContext.NORMAL -> {
                long offset = entry & CheckContext.L2E_OFFSET_MASK;
                if (((bitmap >>> 32) & bitmap) != 0) {
                    res.corruptions++;
                    c.report(Severity.CORRUPTION, "ERROR offset=" + Long.toHexString(offset)
                            + ": Allocated cluster has corrupted subcluster allocation bitmap");
                }
                if ((offset & (clusterSize - 1)) != 0) {
                    res.corruptions++;
                    boolean containsData = extendedL2 ? (bitmap & BITMAP_ALL_ALLOC) != 0
                            : (entry & CheckContext.OFLAG_ZERO) == 0;
                    if (!containsData) {
                        c.finding(fix.fixErrors(), " offset=" + Long.toHexString(offset)
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
                        c.report(Severity.CORRUPTION, "ERROR offset=" + Long.toHexString(offset)
                                + ": Data cluster is not properly aligned; L2 entry corrupted.");
                    }
                }
                nextContiguous = countDataCluster(entry, offset, nextContiguous, frag, checkCopied);
                if (!hasDataFile) {
                    c.incRefcounts(offset, clusterSize); // an unaligned offset touches two clusters
                }
            }
            case CheckContext.ZERO_PLAIN -> {
                // nothing allocated; extended L2 never gets here
            }
            default -> {
                if ((bitmap & BITMAP_ALL_ALLOC) != 0) {
                    res.corruptions++;
                    c.report(Severity.CORRUPTION, "ERROR: Unallocated cluster has non-zero subcluster allocation map");
                }
            }
        }
        return nextContiguous;
    }

    /** Turns a preallocated zero cluster whose offset is unaligned into a plain zero cluster. */
    private int fixL2EntryByZero(long l2Offset, ByteBuffer table, int index, boolean active) throws IOException {
        int pos = index * c.l2EntrySize;
        if (extendedL2) {
            long bitmap = table.getLong(pos + 8);
            bitmap |= bitmap << 32;
            bitmap &= BITMAP_ALL_ZEROES;
            table.putLong(pos + 8, bitmap);
            table.putLong(pos, 0);
        } else {
            table.putLong(pos, CheckContext.OFLAG_ZERO);
        }
        long entryOffset = l2Offset + pos;
        int ignore = active ? Overlaps.ACTIVE_L2 : Overlaps.INACTIVE_L2;
        if (!c.guard.preWriteOverlapCheck(ignore, entryOffset, c.l2EntrySize)) {
            c.report(Severity.CHECK_ERROR, "ERROR: Overlap check failed");
            c.res.checkErrors++;
            return FIX_OVERLAP;
        }
        ByteBuffer b = table.duplicate();
        b.position(pos).limit(pos + c.l2EntrySize);
        c.file.writeFully(entryOffset, b);
        c.file.flush();
        c.res.corruptions--;
        c.res.corruptionsFixed++;
        return FIX_OK;
    }
}
