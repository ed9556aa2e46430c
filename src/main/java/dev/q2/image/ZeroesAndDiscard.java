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
        frees.collect();
        try {
            zeroRange(offset, length, unmap);
        } finally {
            passDown(frees.collected());
        }
    }

    /**
     * The block layer's split of a zero write (block/io.c's bdrv_co_do_pwrite_zeroes, with qcow2's zero-write
     * alignment of a subcluster): a partial subcluster at the head, the aligned bulk, a partial subcluster at the
     * tail, each tried as an efficient zero write; one the driver cannot do is written as zeros instead (a normal
     * write of at most the bounce buffer's 16 MiB at a time).
     */
    private void zeroRange(long offset, long length, boolean unmap) throws IOException {
        long align = disk.subclusterSize;
        long head = offset % align;
        long tail = (offset + length) % align;
        long pos = offset;
        long bytes = length;
        while (bytes > 0) {
            long num = bytes;
            if (head != 0) {
                num = Math.min(bytes, align - head);
                head = (head + num) % align;
            } else if (tail != 0 && num > align) {
                num -= tail;
            }
            if (!pwriteZeroes(pos, num, unmap)) {
                for (long done = 0; done < num; ) {
                    long n = Math.min(num - done, ZERO_BOUNCE_BUFFER);
                    writes.writeZeroBytes(pos + done, n);
                    done += n;
                }
            }
            pos += num;
            bytes -= num;
        }
    }

    /** The bounce buffer of the block layer's fallback for zero writes (MAX_BOUNCE_BUFFER). */
    private static final long ZERO_BOUNCE_BUFFER = 16L << 20;

    /**
     * qcow2.c's qcow2_co_pwrite_zeroes: a request that does not cover whole subclusters is done only when the rest
     * of its subcluster reads as zeros and the subcluster holds no data, and then zeros the whole subcluster.
     * False where QEMU answers ENOTSUP (the caller writes zeros).
     */
    private boolean pwriteZeroes(long offset, long bytes, boolean unmap) throws IOException {
        long unit = disk.subclusterSize;
        long head = offset % unit;
        long tail = (offset + bytes + unit - 1) / unit * unit - (offset + bytes);
        if (offset + bytes == disk.size) {
            tail = 0;
        }
        if (head != 0 || tail != 0) {
            if (!(status.readsAsZero(top, offset - head, head) && status.readsAsZero(top, offset + bytes, tail))) {
                return false;
            }
            offset -= head;
            bytes = unit;
            if (!status.unitAt(offset, true).kind().holdsNoData()) {
                return false;
            }
        }
        return subclusterZeroize(offset, bytes, unmap);
    }

    /**
     * qcow2-cluster.c's qcow2_subcluster_zeroize for a subcluster-aligned range: version 2 without a backing file
     * discards, version 2 with one cannot; the subclusters of a partial first cluster get zero bits, whole clusters
     * become zero clusters (zero_in_l2_slice), the subclusters of a partial last cluster get zero bits. A partial
     * cluster that is compressed cannot (false): what was zeroed before it stays zeroed.
     */
    private boolean subclusterZeroize(long offset, long bytes, boolean unmap) throws IOException {
        long clusterSize = disk.clusterSize;
        long unit = disk.subclusterSize;
        long end = offset + bytes;
        if (disk.version() < 3) {
            if (disk.backing != null) {
                return false;
            }
            for (long c = disk.clusterIndex(offset); disk.clusterStart(c) < end; c++) {
                discardCluster(c, false);
            }
            return true;
        }
        long head = Math.min(end, (offset + clusterSize - 1) / clusterSize * clusterSize) - offset;
        offset += head;
        long tail = end >= disk.size ? 0 : end - Math.max(offset, end / clusterSize * clusterSize);
        end -= tail;
        if (head > 0 && !zeroL2Subclusters(offset - head, (int) ((head + unit - 1) / unit))) {
            return false;
        }
        long clusters = (end - offset + clusterSize - 1) / clusterSize; // (none when head and tail meet)
        for (long c = disk.clusterIndex(offset); clusters-- > 0; c++) {
            zeroCluster(c, unmap);
        }
        return tail == 0 || zeroL2Subclusters(end, (int) ((tail + unit - 1) / unit));
    }

    /** zero_l2_subclusters: zero bits for {@code count} subclusters from {@code offset}; false on a compressed one. */
    private boolean zeroL2Subclusters(long offset, int count) throws IOException {
        long clusterIndex = disk.clusterIndex(offset);
        long l2Offset = mapper.writableL2(clusterIndex);
        ClusterMapper.Mapping m = mapper.lookup(clusterIndex);
        if (mapper.type(m.entry()) == L2Entry.Type.COMPRESSED) {
            return false;
        }
        int from = disk.offsetInCluster(offset);
        long range = status.subclusterRange(from, (int) (from + count * disk.subclusterSize));
        long bitmap = (m.bitmap() | (range << 32)) & ~range;
        if (bitmap != m.bitmap()) {
            mapper.setEntry(l2Offset, clusterIndex, m.entry(), bitmap);
        }
        return true;
    }

    /** zero_in_l2_slice for one cluster (its L2 table made ours first, as get_cluster_table does). */
    private void zeroCluster(long clusterIndex, boolean unmap) throws IOException {
        long l2Offset = mapper.writableL2(clusterIndex);
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
        mapper.setEntry(l2Offset, clusterIndex, newEntry, newBitmap);
        if (drop) {
            frees.freeEntry(m.entry(), type, true);
        }
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
        frees.collect();
        try {
            for (long clusterIndex = first; clusterIndex < endCluster; clusterIndex++) {
                discardCluster(clusterIndex, full);
            }
        } finally {
            passDown(frees.collected());
        }
    }

    /**
     * QEMU's qcow2_process_discards at the end of a guest discard or zero write (QCOW2_DISCARD_REQUEST, passed down
     * by default): the host clusters whose refcount reached 0 are discarded in the image file, runs of them at once.
     * Where holes cannot be punched, nothing happens, as with QEMU's discard.
     */
    private void passDown(List<long[]> freed) throws IOException {
        long clusterSize = disk.clusterSize;
        long runStart = -1;
        long runEnd = -1;
        for (long[] f : freed) {
            for (long c = f[0] & ~(clusterSize - 1); c < f[0] + f[1]; c += clusterSize) {
                if (disk.refcounts.refcount(c >>> disk.clusterBits) != 0) {
                    continue;
                }
                if (c == runEnd) {
                    runEnd += clusterSize;
                } else {
                    if (runStart >= 0) {
                        disk.file.punchHole(runStart, runEnd - runStart);
                    }
                    runStart = c;
                    runEnd = c + clusterSize;
                }
            }
        }
        if (runStart >= 0) {
            disk.file.punchHole(runStart, runEnd - runStart);
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
            frees.collect();
            for (long clusterIndex = table; clusterIndex < Math.min(end, table + entriesPerTable); clusterIndex++) {
                discardCluster(clusterIndex, true);
            }
            List<long[]> freed = frees.collected();
            flush.flush(); // the table before the refcount decreases, as QEMU's cache dependency orders them
            // QEMU passes these discards down (discard-snapshot): a cluster no longer referenced becomes a hole
            DiscardQueue holes = new DiscardQueue();
            for (long[] f : freed) {
                for (long c = f[0] & ~(clusterSize - 1); c < f[0] + f[1]; c += clusterSize) {
                    if (disk.refcounts.refcount(c >>> disk.clusterBits) == 0) {
                        holes.add(c, clusterSize);
                    }
                }
            }
            holes.punch(disk.file, true);
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
            return; // discard_in_l2_slice: unallocated without a backing file stays as it is (its zero bits too)
        }
        if (newEntry == m.entry() && newBitmap == m.bitmap()) {
            return;
        }
        long l2Offset = mapper.writableL2(clusterIndex);
        mapper.setEntry(l2Offset, clusterIndex, newEntry, newBitmap);
        frees.freeEntry(m.entry(), type, true);
    }
}
