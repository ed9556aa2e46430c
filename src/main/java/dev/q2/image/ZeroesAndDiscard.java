package dev.q2.image;

import dev.q2.format.L2Entry;
import dev.q2.format.SubclusterBitmap;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Seam: zero writes and discards (qcow2.c's qcow2_co_pwrite_zeroes and qcow2_co_pdiscard, qcow2-cluster.c's
 * zero_in_l2_slice and discard_in_l2_slice): whole (sub)clusters become zero or unallocated entries without writing
 * data, what is left is written as zeros; the clusters given back are freed at the next flush.
 */
final class ZeroesAndDiscard {
    private final DiskState disk;
    private final ClusterMapper mapper;
    private final WritePath writes;
    private final BlockStatusReader status;
    private final DeferredFrees frees;
    /** The disk as a block device: zero checks go through its whole backing chain. */
    private final BlockDevice top;

    ZeroesAndDiscard(DiskState disk, ClusterMapper mapper, WritePath writes, BlockStatusReader status,
                     DeferredFrees frees, BlockDevice top) {
        this.disk = disk;
        this.mapper = mapper;
        this.writes = writes;
        this.status = status;
        this.frees = frees;
        this.top = top;
    }

    /** See {@link Qcow2Disk#writeZeroes}. */
    void writeZeroes(long offset, long length, boolean unmap) throws IOException {
        disk.beginModification(offset, length);
        disk.header.markDirtyIfLazy();
        disk.stats.guestBytesWritten += length;
        long clusterSize = disk.clusterSize;
        long pos = offset;
        long end = offset + length;
        while (pos < end) {
            long clusterIndex = disk.clusterIndex(pos);
            int from = disk.offsetInCluster(pos);
            long clusterEnd = Math.min(disk.clusterStart(clusterIndex + 1), end);
            int to = (int) (clusterEnd - disk.clusterStart(clusterIndex));
            boolean wholeCluster = from == 0 && (to == clusterSize || clusterEnd == disk.size);
            if (disk.version() >= 3 && wholeCluster) {
                zeroCluster(clusterIndex, unmap);
            } else if (disk.version() < 3 && wholeCluster && disk.backing == null) {
                discardCluster(clusterIndex, true); // v2 has no zero flag; without a backing file unallocated reads 0
            } else if (wholeCluster) {
                writes.writeZeroBytes(disk.clusterStart(clusterIndex) + from, to - from);
            } else {
                zeroInCluster(clusterIndex, from, to, clusterEnd == disk.size, unmap);
            }
            pos = clusterEnd;
        }
    }

    /**
     * Zeros bytes [from, to) of a cluster as QEMU splits such a request: at subcluster boundaries (the zero-write
     * alignment), whole subclusters in the middle get zero bits, and a partial subcluster at either end becomes a
     * zero (sub)cluster only if the rest of it already reads as zeros and it holds no data; otherwise zeros are
     * written.
     */
    private void zeroInCluster(long clusterIndex, int from, int to, boolean atDiskEnd, boolean unmap)
            throws IOException {
        int unit = (int) disk.subclusterSize;
        int headEnd = Math.min(to, (from + unit - 1) / unit * unit);
        int tailStart = atDiskEnd ? to : Math.max(headEnd, to / unit * unit);
        if (from < headEnd) {
            zeroPartial(clusterIndex, from, headEnd, atDiskEnd && headEnd == to, unmap);
        }
        if (headEnd < tailStart) {
            if (disk.version() >= 3 && disk.extendedL2 && !isCompressed(clusterIndex)) {
                zeroSubclusters(clusterIndex, headEnd, tailStart);
            } else {
                writes.writeZeroBytes(disk.clusterStart(clusterIndex) + headEnd, tailStart - headEnd);
            }
        }
        if (tailStart < to) {
            zeroPartial(clusterIndex, tailStart, to, atDiskEnd, unmap);
        }
    }

    /** Zeros [from, to), which lies within one subcluster and does not cover it (qcow2_co_pwrite_zeroes). */
    private void zeroPartial(long clusterIndex, int from, int to, boolean atDiskEnd, boolean unmap)
            throws IOException {
        int unit = (int) disk.subclusterSize;
        int unitStart = from - from % unit;
        int unitEnd = unitStart + unit;
        long guest = disk.clusterStart(clusterIndex);
        boolean sidesZero = status.readsAsZero(top, guest + unitStart, from - unitStart)
                && (atDiskEnd || status.readsAsZero(top, guest + to, unitEnd - to));
        if (sidesZero) {
            boolean noData = status.unitAt(guest + unitStart, true).kind().holdsNoData();
            if (noData && disk.version() >= 3) {
                if (disk.extendedL2) {
                    zeroSubclusters(clusterIndex, unitStart, unitEnd);
                } else {
                    zeroCluster(clusterIndex, unmap);
                }
                return;
            }
            if (noData && disk.backing == null) {
                discardCluster(clusterIndex, true); // version 2 without a backing file: unallocated reads as zeros
                return;
            }
        }
        writes.writeZeroBytes(guest + from, to - from);
    }

    private boolean isCompressed(long clusterIndex) throws IOException {
        return mapper.type(mapper.lookup(clusterIndex).entry()) == L2Entry.Type.COMPRESSED;
    }

    private void zeroCluster(long clusterIndex, boolean unmap) throws IOException {
        ClusterMapper.Mapping m = mapper.lookup(clusterIndex);
        L2Entry.Type type = mapper.type(m.entry());
        boolean drop = type == L2Entry.Type.COMPRESSED
                || unmap && (type == L2Entry.Type.NORMAL || type == L2Entry.Type.ZERO_ALLOC);
        long newEntry = drop ? 0 : m.entry();
        long newBitmap = m.bitmap();
        if (disk.extendedL2) {
            newBitmap = SubclusterBitmap.of(0, -1);
        } else {
            newEntry |= L2Entry.OFLAG_ZERO;
        }
        if (newEntry == m.entry() && newBitmap == m.bitmap()) {
            return;
        }
        long l2Offset = mapper.writableL2(clusterIndex);
        mapper.setEntry(l2Offset, clusterIndex, newEntry, newBitmap);
        if (drop) {
            frees.freeEntry(m.entry(), type);
        }
    }

    private void zeroSubclusters(long clusterIndex, int from, int to) throws IOException {
        long l2Offset = mapper.writableL2(clusterIndex);
        ClusterMapper.Mapping m = mapper.lookup(clusterIndex);
        long range = status.subclusterRange(from, to);
        long bitmap = (m.bitmap() & ~range) | (range << 32);
        mapper.setEntry(l2Offset, clusterIndex, m.entry(), bitmap);
    }

    /** See {@link Qcow2Disk#discard}. */
    void discard(long offset, long length, boolean full) throws IOException {
        disk.beginModification(offset, length); // QEMU marks the whole request, whatever part of it is discarded
        if (disk.version() < 3 && disk.backing != null) {
            return; // QEMU refuses: without a zero flag, discarding would expose the backing file's data
        }
        long clusterSize = disk.clusterSize;
        long size = disk.size;
        long first = (offset + clusterSize - 1) >>> disk.clusterBits;
        long endCluster = (offset + length) >>> disk.clusterBits;
        if (offset + length == size && (size & (clusterSize - 1)) != 0) {
            endCluster = (size + clusterSize - 1) >>> disk.clusterBits; // the partial last cluster counts
        }
        if (first >= endCluster) {
            return;
        }
        disk.header.markDirtyIfLazy();
        for (long clusterIndex = first; clusterIndex < endCluster; clusterIndex++) {
            discardCluster(clusterIndex, full);
        }
    }

    /** See {@link Qcow2Disk#discardAllForMakeEmpty}; {@code flush} is the disk's flush order. */
    void discardAllForMakeEmpty(FlushOrder flush) throws IOException {
        disk.header.requireUsable();
        disk.requireWritable();
        long clusterSize = disk.clusterSize;
        long end = (disk.size + clusterSize - 1) >>> disk.clusterBits;
        if (end == 0) {
            return;
        }
        disk.header.markDirtyIfLazy();
        long entriesPerTable = disk.geometry.entriesPerTable();
        for (long table = 0; table < end; table += entriesPerTable) {
            // QEMU's discard goes through get_cluster_table: a missing (or shared) L2 table is allocated first
            mapper.writableL2(table);
            int mark = frees.pendingCount();
            for (long clusterIndex = table; clusterIndex < Math.min(end, table + entriesPerTable); clusterIndex++) {
                discardCluster(clusterIndex, true);
            }
            List<long[]> freed = frees.pendingSince(mark);
            flush.flush(); // the table before the refcount decreases, as QEMU's cache dependency orders them
            // QEMU passes these discards down (discard-snapshot): a cluster no longer referenced becomes a hole
            for (long[] f : freed) {
                for (long c = f[0] & ~(clusterSize - 1); c < f[0] + f[1]; c += clusterSize) {
                    if (disk.refcounts.refcount(c >>> disk.clusterBits) == 0 && !disk.file.punchHole(c, clusterSize)) {
                        disk.file.writeFully(c, ByteBuffer.allocate((int) clusterSize));
                    }
                }
            }
        }
    }

    private void discardCluster(long clusterIndex, boolean full) throws IOException {
        if (mapper.l2OffsetFor(clusterIndex) == 0 && (full || disk.backing == null)) {
            return;
        }
        ClusterMapper.Mapping m = mapper.lookup(clusterIndex);
        L2Entry.Type type = mapper.type(m.entry());
        boolean allocated = type == L2Entry.Type.NORMAL || type == L2Entry.Type.ZERO_ALLOC
                || type == L2Entry.Type.COMPRESSED;
        long newEntry;
        long newBitmap = 0;
        if (full) {
            newEntry = 0;
        } else if (disk.backing != null || allocated) {
            if (disk.extendedL2) {
                newEntry = 0;
                newBitmap = SubclusterBitmap.of(0, -1);
            } else {
                newEntry = disk.version() >= 3 ? L2Entry.OFLAG_ZERO : 0;
            }
        } else {
            newEntry = 0;
        }
        if (newEntry == m.entry() && newBitmap == m.bitmap()) {
            return;
        }
        long l2Offset = mapper.writableL2(clusterIndex);
        mapper.setEntry(l2Offset, clusterIndex, newEntry, newBitmap);
        frees.freeEntry(m.entry(), type);
    }
}
