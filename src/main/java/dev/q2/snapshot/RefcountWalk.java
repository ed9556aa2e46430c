package dev.q2.snapshot;

import dev.q2.format.CompressedDescriptor;
import dev.q2.format.L2Corruption;
import dev.q2.format.L2Entry;
import dev.q2.format.L2Geometry;
import dev.q2.format.RefcountBlock;
import dev.q2.image.MetadataAccess;
import dev.q2.image.RefcountAllocator;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * QEMU's qcow2_update_snapshot_refcount: walks an L1 table and every L2 table it points to, adds {@code addend}
 * (-1, 0 or 1) to the refcount of every cluster referenced (data clusters, preallocated zero clusters, compressed
 * clusters, the L2 tables), and sets OFLAG_COPIED exactly where the refcount is then 1. What it changes reaches the
 * disk in QEMU's order: with a positive addend the refcounts before the L2 tables that stop claiming OFLAG_COPIED,
 * otherwise the L2 tables first; clusters freed are discarded (a hole punched, QEMU's pass-discard-snapshot) at the
 * end; the L1 table itself is written last (with a sync), unless the addend is negative (it is about to be freed).
 *
 * <p>Memory is bounded: changed L2 tables are written in batches of at most {@link #BATCH_BYTES}, each after the
 * refcounts it depends on.
 */
final class RefcountWalk {
    private static final long BATCH_BYTES = 32L << 20;
    /** RefcountAllocator's refusal of a refcount table past QCOW_MAX_REFTABLE_SIZE (QEMU: -EFBIG). */
    static final String TABLE_FULL = "Refcount table would exceed its maximum size";

    private final MetadataAccess meta;
    private final ImageFile file;
    private final RefcountAllocator refcounts;
    private final L2Geometry geometry;
    private final int clusterBits;
    private final long clusterSize;
    private final long refcountMax;
    private final int refcountOrder;
    private final int refcountBlockBits;
    /** The refcount block last used ({@link RefcountAllocator#blockBytes}): its table index, -1 for none. */
    private long cursorTable = -1;
    private boolean cursorForUpdate;
    private byte[] cursorBlock;
    private final Runnable syncPoint;
    /** Changed L2 tables not written yet, by offset. */
    private final Map<Long, long[]> dirty = new LinkedHashMap<>();
    /** Host ranges {offset, length} to discard at the end of the walk. */
    private final dev.q2.image.DiscardQueue discards = new dev.q2.image.DiscardQueue();

    RefcountWalk(MetadataAccess meta, Runnable syncPoint) {
        this.meta = meta;
        this.file = meta.file();
        this.refcounts = meta.refcounts();
        this.geometry = meta.header().l2Geometry();
        this.clusterBits = geometry.clusterBits();
        this.clusterSize = geometry.clusterSize();
        this.refcountOrder = meta.header().refcountOrder();
        // (QEMU's refcount_max: 2^64 - 1 for 64-bit refcounts, compared unsigned)
        this.refcountMax = refcountOrder == 6 ? -1L : RefcountBlock.maxRefcount(refcountOrder);
        this.refcountBlockBits = clusterBits + 3 - refcountOrder;
        this.syncPoint = syncPoint;
    }

    /**
     * Walks {@code l1} (the table at {@code l1Offset}, changed in place where OFLAG_COPIED changes) with
     * {@code addend}. On failure what was changed so far stays changed, as in QEMU (the caller's image leaks).
     */
    void walk(long l1Offset, long[] l1, int addend) throws IOException {
        boolean l1Modified = false;
        SnapshotException failure = null;
        try {
            for (int i = 0; i < l1.length; i++) {
                long old = l1[i];
                if (old == 0) {
                    continue;
                }
                long l2Offset = old & L2Entry.OFFSET_MASK;
                if ((l2Offset & (clusterSize - 1)) != 0) {
                    throw corrupt("L2 table offset " + L2Corruption.hex(l2Offset) + " unaligned (L1 index: " + L2Corruption.hex(i) + ")");
                }
                walkL2(l2Offset, addend);
                long l2Cluster = l2Offset >>> clusterBits;
                long l2Refcount = addend != 0 ? update(l2Cluster, addend) : refcount(l2Cluster);
                long entry = l2Offset;
                if (l2Refcount == 1) {
                    entry |= L2Entry.OFLAG_COPIED;
                }
                if (entry != old) {
                    l1[i] = entry;
                    l1Modified = true;
                }
                if (dirtyBytes() >= BATCH_BYTES) {
                    writeBack(addend);
                }
            }
            dev.q2.util.Phases.mark("walk: loop");
            writeBack(addend);
        } catch (SnapshotException e) {
            failure = e;
        }
        processDiscards();
        if (failure != null) {
            throw failure;
        }
        if (addend >= 0 && l1Modified) {
            ByteBuffer b = ByteBuffer.allocate(l1.length * 8).order(ByteOrder.BIG_ENDIAN);
            b.asLongBuffer().put(l1);
            file.writeFully(l1Offset, b);
            sync();
        }
    }

    /**
     * Writes what the walk changed when it failed, as QEMU's caches write it on close: the caller then leaves the
     * image with its leaks, as qemu-img does.
     */
    void writeBackAfterFailure() throws IOException {
        writeBack(1);
    }

    private void walkL2(long l2Offset, int addend) throws IOException {
        long[] table = dirty.get(l2Offset);
        boolean listed = table != null;
        if (table == null) {
            table = readTable(l2Offset);
        }
        int stride = geometry.entrySize() / 8; // (an extended L2 entry is the entry and its subcluster bitmap)
        int end = (int) geometry.entriesPerTable() * stride;
        long alignment = clusterSize - 1;
        for (int p = 0; p < end; p += stride) {
            if (refcountOrder == 4) {
                // in calls of 64 entries: the JIT compiles run16 after a few hundred calls, a fraction of a table,
                // instead of compiling its loop after some 60000 iterations on the stack (OSR)
                int stop;
                do {
                    stop = Math.min(end, p + RUN * stride);
                    p = run16(table, p, stop, stride, addend);
                    if (runChanged && !listed) {
                        dirty.put(l2Offset, table);
                        listed = true;
                    }
                } while (p == stop && p < end);
                if (p >= end) {
                    break;
                }
            }
            long old = table[p];
            long entry = old & ~L2Entry.OFLAG_COPIED;
            long offset = entry & L2Entry.OFFSET_MASK;
            long refcount;
            if ((entry & L2Entry.OFLAG_COMPRESSED) != 0) {
                if (addend != 0) {
                    CompressedDescriptor d = CompressedDescriptor.decode(entry, clusterBits);
                    long start = d.hostOffset();
                    long size = d.endOffset() - (start & ~511L) - (start & 511);
                    updateRange(start, size, addend);
                    listed = false; // (a freed cluster may have been this table, dropped from the dirty ones)
                }
                refcount = 2; // compressed clusters are never written in place
            } else if (offset != 0) { // a data cluster, or a preallocated zero cluster (L2Entry.type)
                if ((offset & alignment) != 0) {
                    throw corrupt("Cluster allocation offset " + L2Corruption.hex(offset) + " unaligned (L2 offset: "
                            + L2Corruption.hex(l2Offset) + ", L2 index: " + L2Corruption.hex(p / stride) + ")");
                }
                refcount = addend != 0 ? update(offset >>> clusterBits, addend) : refcount(offset >>> clusterBits);
                if (refcount == 0) {
                    listed = false;
                }
            } else {
                refcount = 0;
            }
            if (refcount == 1) {
                entry |= L2Entry.OFLAG_COPIED;
            }
            if (entry != old) {
                // changed in the cached table at once: if the walk fails further on, the change is still written
                table[p] = entry;
                if (!listed) {
                    dirty.put(l2Offset, table);
                    listed = true;
                }
            }
        }
    }

    /** Entries {@link #run16} takes per call. */
    private static final int RUN = 64;
    /** Whether the last {@link #run16} changed an entry. */
    private boolean runChanged;

    /**
     * walkL2's common case with 16-bit refcounts, in one loop without calls (a 64 GiB image has a million entries,
     * and such a loop runs fast even before the JIT compiles it): from entry {@code p} on, while the entries are
     * unallocated, or standard clusters covered by the refcount block at the cursor whose refcount stays within
     * 1..65535, the refcount changes by {@code addend} and OFLAG_COPIED follows it, exactly as the entry-by-entry
     * path does. Returns the first entry left to that path (a compressed or unaligned entry, another refcount
     * block, a refcount leaving its range or dropping to 0).
     */
    private int run16(long[] table, int p, int end, int stride, int addend) {
        runChanged = false;
        byte[] rb = cursorBlock;
        if (cursorTable < 0 || rb == null || (addend != 0 && !cursorForUpdate)) {
            return p;
        }
        long first = cursorTable << refcountBlockBits;
        long blockSize = 1L << refcountBlockBits;
        long alignment = clusterSize - 1;
        boolean changed = false;
        for (; p < end; p += stride) {
            long old = table[p];
            long entry = old & ~L2Entry.OFLAG_COPIED;
            long offset = entry & L2Entry.OFFSET_MASK;
            if ((entry & L2Entry.OFLAG_COMPRESSED) != 0 || (offset & alignment) != 0) {
                break;
            }
            if (offset == 0) { // unallocated, or a plain zero cluster: no refcount, never OFLAG_COPIED
                if (entry != old) {
                    table[p] = entry;
                    changed = true;
                }
                continue;
            }
            long i = (offset >>> clusterBits) - first;
            if (i < 0 || i >= blockSize) {
                break;
            }
            int k = (int) i << 1;
            int r = ((rb[k] & 0xff) << 8 | (rb[k + 1] & 0xff)) + addend;
            if (r <= 0 || r > 0xffff) {
                break;
            }
            if (addend != 0) {
                rb[k] = (byte) (r >>> 8);
                rb[k + 1] = (byte) r;
            }
            if (r == 1) {
                entry |= L2Entry.OFLAG_COPIED;
            }
            if (entry != old) {
                table[p] = entry;
                changed = true;
            }
        }
        runChanged = changed;
        return p;
    }

    /** Buffer for reading and writing L2 tables (one at a time). */
    private ByteBuffer io;

    private long[] readTable(long l2Offset) throws IOException {
        ByteBuffer b = ioBuffer();
        file.readZeroFilled(l2Offset, b);
        long[] t = new long[(int) (clusterSize / 8)];
        b.clear();
        b.asLongBuffer().get(t);
        return t;
    }

    private ByteBuffer ioBuffer() {
        if (io == null) {
            io = ByteBuffer.allocateDirect((int) clusterSize).order(ByteOrder.BIG_ENDIAN);
        }
        return io.clear();
    }

    /** A cluster's refcount, read through the cursor. */
    private long refcount(long cluster) throws IOException {
        byte[] b = cursor(cluster, false);
        if (b == null) {
            return refcounts.refcount(cluster); // 0, or a corrupt refcount table reported as QEMU reports it
        }
        return RefcountBlock.get(b, refcountOrder, (int) (cluster & ((1L << refcountBlockBits) - 1)));
    }

    /** The bytes of the refcount block covering {@code cluster} (null: none), kept while the walk stays in it. */
    private byte[] cursor(long cluster, boolean forUpdate) throws IOException {
        long tableIndex = cluster >>> refcountBlockBits;
        if (tableIndex != cursorTable || (forUpdate && !cursorForUpdate)) {
            cursorBlock = refcounts.blockBytes(cluster, forUpdate);
            cursorTable = cursorBlock == null ? -1 : tableIndex;
            cursorForUpdate = forUpdate;
        }
        return cursorBlock;
    }

    private SnapshotException corrupt(String message) {
        dev.q2.image.CorruptMetadataException c = meta.corruption(message);
        return new SnapshotException(SnapshotException.Errno.EIO, "Input/output error",
                c.firstReport() ? c.qemuReport() : null);
    }

    /** update_refcount over a byte range: every cluster checked first, so that a refusal changes nothing. */
    private void updateRange(long offset, long length, int addend) throws IOException {
        if (length <= 0) {
            return;
        }
        long first = offset >>> clusterBits;
        long last = (offset + length - 1) >>> clusterBits;
        for (long c = first; c <= last; c++) {
            placeBlock(c);
            check(c, addend);
        }
        for (long c = first; c <= last; c++) {
            apply(c, addend, refcounts.refcount(c) + addend);
        }
        cursorTable = -1;
    }

    /**
     * Adds {@code addend} to one cluster's refcount; returns the new refcount. In the bytes of its refcount block
     * when one covers it (a million clusters in a row on a 64 GiB image), else through the allocator (which places
     * a new refcount block).
     */
    private long update(long cluster, int addend) throws IOException {
        byte[] b = cursor(cluster, true);
        if (b == null) {
            placeBlock(cluster); // throws: no refcount block covered the cluster
            b = cursor(cluster, true);
        }
        int index = (int) (cluster & ((1L << refcountBlockBits) - 1));
        long r = RefcountBlock.get(b, refcountOrder, index);
        if (outOfRange(r, addend)) {
            throw new SnapshotException(SnapshotException.Errno.EINVAL, "Invalid argument");
        }
        long updated = r + addend;
        RefcountBlock.set(b, refcountOrder, index, updated);
        if (updated == 0) {
            refcounts.noteFreed(cluster);
            freed(cluster);
        }
        return updated;
    }

    /** The cluster's refcount, after checking that {@code addend} keeps it in range (EINVAL otherwise). */
    private long check(long cluster, int addend) throws IOException {
        long r = refcounts.refcount(cluster);
        if (outOfRange(r, addend)) {
            throw new SnapshotException(SnapshotException.Errno.EINVAL, "Invalid argument");
        }
        return r;
    }

    /** update_refcount's range check, unsigned as in QEMU (a 64-bit refcount may use its top bit). */
    private boolean outOfRange(long r, int addend) {
        long updated = r + addend;
        return addend > 0 ? Long.compareUnsigned(updated, r) < 0 || Long.compareUnsigned(updated, refcountMax) > 0
                : Long.compareUnsigned(updated, r) > 0;
    }

    /**
     * QEMU's update_refcount on a cluster no refcount block covers: alloc_refcount_block places one (and grows the
     * refcount table if it must, written at once) and answers -EAGAIN, which the snapshot code does not retry: the
     * update fails with EAGAIN ("Resource temporarily unavailable"), or with EFBIG when the refcount table would
     * outgrow QEMU's limit. Returns when a block already covers the cluster.
     */
    private void placeBlock(long cluster) throws IOException {
        boolean placed;
        try {
            placed = refcounts.placeRefcountBlock(cluster);
        } catch (dev.q2.image.ImageException e) {
            if (TABLE_FULL.equals(e.getMessage())) {
                throw new SnapshotException(SnapshotException.Errno.EFBIG, "File too large");
            }
            throw e;
        }
        cursorTable = -1;
        if (placed) {
            throw new SnapshotException(SnapshotException.Errno.EAGAIN, "Resource temporarily unavailable");
        }
    }

    private void apply(long cluster, int addend, long updated) throws IOException {
        refcounts.addReferences(cluster << clusterBits, clusterSize, addend);
        if (updated == 0) {
            freed(cluster);
        }
    }

    private void freed(long cluster) {
        dirty.remove(cluster << clusterBits); // a freed L2 table's changes are dropped, as QEMU's cache drops them
        discard(cluster << clusterBits, clusterSize);
    }

    private void discard(long offset, long length) {
        discards.add(offset, length);
    }

    private void processDiscards() throws IOException {
        discards.punch(file, false); // where holes cannot be punched, QEMU's discard does nothing either
    }

    private long dirtyBytes() {
        return dirty.size() * clusterSize;
    }

    /**
     * QEMU's cache dependencies at a flush: L2 tables that lost OFLAG_COPIED only after the refcounts that were
     * raised; with refcounts lowered, the L2 tables first.
     */
    private void writeBack(int addend) throws IOException {
        cursorTable = -1; // a flushed refcount block must be marked again before it changes again
        if (addend > 0) {
            refcounts.flush();
            sync();
            writeL2Tables();
        } else {
            writeL2Tables();
            refcounts.flush();
        }
        sync();
    }

    private void writeL2Tables() throws IOException {
        if (dirty.isEmpty()) {
            return;
        }
        for (Map.Entry<Long, long[]> e : dirty.entrySet()) {
            ByteBuffer b = ioBuffer();
            b.asLongBuffer().put(e.getValue());
            file.writeFully(e.getKey(), b);
        }
        dirty.clear();
        sync();
    }

    private void sync() throws IOException {
        meta.sync();
        syncPoint.run();
    }
}
