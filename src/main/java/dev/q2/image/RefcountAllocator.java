package dev.q2.image;

import dev.q2.format.Limits;
import dev.q2.format.RefcountBlock;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Refcount table and refcount blocks of an image being written, with QEMU's cluster allocation policy: first fit
 * from a free-cluster cursor, refcount blocks placed so that they describe themselves, the refcount table grown into
 * a new self-describing area at the end of the file, and allocation retried after metadata took its clusters.
 * Following the same policy makes files written by q2 identical to qemu-img's.
 *
 * <p>Refcount blocks are cached in memory and written by {@link #flush()}; the refcount table and the header
 * fields that point at it are written as soon as they change, as QEMU does.
 */
public final class RefcountAllocator {
    /** Signals that metadata took clusters the caller may have chosen: search again (QEMU's -EAGAIN). */
    private static final int AGAIN = 1;
    private static final long REFT_OFFSET_MASK = 0xfffffffffffffe00L;
    /** Byte offset of refcount_table_offset in the header. */
    private static final long HEADER_REFTABLE_FIELD = 48;

    private final ImageFile file;
    private final int clusterBits;
    private final long clusterSize;
    private final int refcountOrder;
    private final int refcountBlockBits;
    private final long refcountBlockSize;
    private final long refcountMax;

    private long[] table;
    private long tableOffset;
    private int maxTableIndex;
    private long freeClusterIndex;
    private long freeByteOffset;
    private final Map<Long, ByteBuffer> blocks = new HashMap<>();
    private final Set<Long> dirtyBlocks = new LinkedHashSet<>();
    /**
     * Held frees: refcount blocks with decreases that are made in memory (so that the clusters can be found free
     * again, as QEMU's free_cluster_index finds them) but must not reach the disk before the references they drop
     * do. Per block: its bytes before the first held decrease, and which entries are held; a write of the block
     * writes those entries as they were.
     */
    private final Map<Long, Held> held = new HashMap<>();
    /** Run before a held cluster is allocated again: makes the held frees durable ({@link #releaseHolds}). */
    private FreesDurable freesDurable;

    /** Makes held frees durable: the references they dropped written and synced, then {@link #releaseHolds}. */
    public interface FreesDurable {
        void makeDurable() throws IOException;
    }

    private record Held(byte[] baseline, java.util.BitSet entries) {
    }

    public RefcountAllocator(ImageFile file, int clusterBits, int refcountOrder, long tableOffset, long[] table) {
        this.file = file;
        this.clusterBits = clusterBits;
        this.clusterSize = 1L << clusterBits;
        this.refcountOrder = refcountOrder;
        this.refcountBlockBits = clusterBits + 3 - refcountOrder;
        this.refcountBlockSize = 1L << refcountBlockBits;
        this.refcountMax = RefcountBlock.maxRefcount(refcountOrder);
        this.tableOffset = tableOffset;
        this.table = table.clone();
        updateMaxTableIndex();
    }

    /**
     * How corrupt refcount metadata is reported: a {@link CorruptMetadataException} by default; a disk open for
     * writing marks its image corrupt first, as QEMU does.
     */
    private java.util.function.Function<String, ? extends CorruptMetadataException> corruption; // null: the default

    /** The exception for corrupt refcount metadata (no method reference as default: one less lambda at start-up). */
    private CorruptMetadataException corrupt(String message) {
        return corruption == null ? new CorruptMetadataException(message) : corruption.apply(message);
    }

    public void onCorruption(java.util.function.Function<String, ? extends CorruptMetadataException> handler) {
        this.corruption = handler;
    }

    /** The refcount block offset of a table entry; QEMU refuses one that is not cluster aligned. */
    private long blockOffset(long tableIndex) throws IOException {
        long offset = table[(int) tableIndex] & REFT_OFFSET_MASK;
        if ((offset & (clusterSize - 1)) != 0) {
            throw corrupt("Refblock offset " + dev.q2.format.L2Corruption.hex(offset)
                    + " unaligned (reftable index: " + dev.q2.format.L2Corruption.hex(tableIndex) + ")");
        }
        return offset;
    }

    public long tableOffset() {
        return tableOffset;
    }

    public long[] table() {
        return table.clone();
    }

    /** Entries of the refcount table (it may grow while clusters are allocated). */
    public int tableSize() {
        return table.length;
    }

    /** A refcount table entry as stored. */
    public long tableEntry(int index) {
        return table[index];
    }

    public int tableClusters() {
        return (int) ((long) table.length * 8 / clusterSize);
    }

    private void updateMaxTableIndex() {
        int i = table.length - 1;
        while (i > 0 && (table[i] & REFT_OFFSET_MASK) == 0) {
            i--;
        }
        maxTableIndex = Math.max(i, 0);
    }

    private ByteBuffer block(long offset) throws IOException {
        ByteBuffer b = blocks.get(offset);
        if (b == null) {
            b = ByteBuffer.allocate((int) clusterSize).order(ByteOrder.BIG_ENDIAN);
            file.readZeroFilled(offset, b);
            b.clear();
            blocks.put(offset, b);
        }
        return b;
    }

    private ByteBuffer emptyBlock(long offset) {
        ByteBuffer b = ByteBuffer.allocate((int) clusterSize).order(ByteOrder.BIG_ENDIAN);
        blocks.put(offset, b);
        dirtyBlocks.add(offset);
        return b;
    }

    /** The refcount of a host cluster; 0 where no refcount block covers it. */
    public long refcount(long clusterIndex) throws IOException {
        long tableIndex = clusterIndex >>> refcountBlockBits;
        if (tableIndex >= table.length) {
            return 0;
        }
        long blockOffset = blockOffset(tableIndex);
        if (blockOffset == 0) {
            return 0;
        }
        return RefcountBlock.get(block(blockOffset), refcountOrder, (int) (clusterIndex & (refcountBlockSize - 1)));
    }

    /**
     * The bytes of the cached refcount block that covers {@code clusterIndex} (in {@link RefcountBlock}'s layout),
     * for a caller that reads or changes many refcounts in a row; null when no refcount block covers it. With
     * {@code forUpdate} the block is written by the next {@link #flush}; a caller that changes it must ask again
     * after a flush, and report each refcount it drops to 0 with {@link #noteFreed}.
     */
    public byte[] blockBytes(long clusterIndex, boolean forUpdate) throws IOException {
        long tableIndex = clusterIndex >>> refcountBlockBits;
        if (tableIndex >= table.length) {
            return null;
        }
        long offset = blockOffset(tableIndex);
        if (offset == 0) {
            return null;
        }
        ByteBuffer b = block(offset);
        if (forUpdate) {
            dirtyBlocks.add(offset);
        }
        return b.array();
    }

    /** A refcount changed through {@link #blockBytes} dropped to 0: the free-cluster cursor may move back to it. */
    public void noteFreed(long clusterIndex) {
        if (clusterIndex < freeClusterIndex) {
            freeClusterIndex = clusterIndex;
        }
    }

    /** Finds free clusters for {@code size} bytes from the cursor without taking a reference. */
    private long allocClustersNoref(long size) throws IOException {
        long nbClusters = sizeToClusters(size);
        retry:
        while (true) {
            if (nbClusters > 0) { // (no clusters: the cursor itself, as before it moved)
                freeClusterIndex = nextFree(freeClusterIndex);
            }
            for (long i = 0; i < nbClusters; i++) {
                long next = freeClusterIndex++;
                if (refcount(next) != 0) {
                    continue retry;
                }
            }
            return (freeClusterIndex - nbClusters) << clusterBits;
        }
    }

    /**
     * The first cluster from {@code clusterIndex} on whose refcount is 0: the clusters in use skipped a refcount
     * block at a time, on its bytes (a fully allocated image has a million clusters before the first free one).
     */
    private long nextFree(long clusterIndex) throws IOException {
        long c = clusterIndex;
        while (true) {
            byte[] b = blockBytes(c, false);
            if (b == null) {
                return c;
            }
            int i = (int) (c & (refcountBlockSize - 1));
            int n = (int) refcountBlockSize;
            if (refcountOrder == 4) {
                while (i < n && (b[2 * i] | b[2 * i + 1]) != 0) {
                    i++;
                }
            } else {
                while (i < n && RefcountBlock.get(b, refcountOrder, i) != 0) {
                    i++;
                }
            }
            c = (c & ~(refcountBlockSize - 1)) + i;
            if (i < n) {
                return c;
            }
        }
    }

    /** Allocates {@code size} bytes of contiguous clusters with refcount 1 and returns their host offset. */
    public long allocClusters(long size) throws IOException {
        while (true) {
            long offset = allocClustersNoref(size);
            beforeReuse(offset, size);
            if (updateRefcount(offset, size, 1, false) != AGAIN) {
                return offset;
            }
        }
    }

    /**
     * Allocates as many of {@code nbClusters} clusters as are free starting exactly at {@code offset}; returns how
     * many it took.
     */
    public long allocClustersAt(long offset, long nbClusters) throws IOException {
        if (nbClusters == 0) {
            return 0;
        }
        long i;
        do {
            long clusterIndex = offset >>> clusterBits;
            for (i = 0; i < nbClusters; i++) {
                if (refcount(clusterIndex++) != 0) {
                    break;
                }
            }
            beforeReuse(offset, i << clusterBits);
        } while (updateRefcount(offset, i << clusterBits, 1, false) == AGAIN);
        return i;
    }

    /**
     * Allocates {@code size} bytes (at most a cluster) for compressed data, packing them after the previous
     * compressed allocation while it fits and the cluster's refcount can grow (QEMU's qcow2_alloc_bytes). Each
     * cluster the bytes touch gains one reference.
     */
    public long allocBytes(int size) throws IOException {
        long offset = freeByteOffset;
        if (offset != 0 && refcount(offset >>> clusterBits) == refcountMax) {
            offset = 0;
        }
        long freeInCluster = clusterSize - (offset & (clusterSize - 1));
        int ret;
        do {
            if (offset == 0 || freeInCluster < size) {
                long newCluster = allocClustersNoref(clusterSize);
                long next = (offset + clusterSize - 1) & ~(clusterSize - 1);
                if (offset == 0 || next != newCluster) {
                    offset = newCluster;
                    freeInCluster = clusterSize;
                } else {
                    freeInCluster += clusterSize;
                }
            }
            beforeReuse(offset, size);
            ret = updateRefcount(offset, size, 1, false);
            if (ret == AGAIN) {
                offset = 0;
            }
        } while (ret == AGAIN);
        freeByteOffset = offset + size;
        if ((freeByteOffset & (clusterSize - 1)) == 0) {
            freeByteOffset = 0;
        }
        return offset;
    }

    /**
     * Drops one reference to each cluster of the range now, for allocation (the clusters that reach 0 are free
     * again and the free-cluster cursor moves back to them, as QEMU's update_refcount does), but holds the decrease
     * back from the disk until {@link #releaseHolds}: the caller first makes the references it dropped durable.
     * A held cluster allocated again before that first runs the {@link #onReuseOfHeld} callback.
     */
    public void freeHeld(long offset, long size) throws IOException {
        if (size <= 0) {
            return;
        }
        long last = (offset + size - 1) >>> clusterBits;
        for (long c = offset >>> clusterBits; c <= last; c++) {
            long tableIndex = c >>> refcountBlockBits;
            long blockOffset = tableIndex < table.length ? blockOffset(tableIndex) : 0;
            if (blockOffset == 0) {
                continue; // (the decrease below fails: nothing counts this cluster)
            }
            Held h = held.get(blockOffset);
            if (h == null) {
                h = new Held(block(blockOffset).array().clone(), new java.util.BitSet());
                held.put(blockOffset, h);
            }
            h.entries().set((int) (c & (refcountBlockSize - 1)));
        }
        freeClusters(offset, size);
    }

    /** Whether frees are held back from the disk. */
    public boolean hasHolds() {
        return !held.isEmpty();
    }

    /** The references the held frees dropped are durable: their refcount blocks are written as they are now. */
    public void releaseHolds() {
        dirtyBlocks.addAll(held.keySet());
        held.clear();
    }

    /** What runs before a held cluster is allocated again (see {@link #freeHeld}). */
    public void onReuseOfHeld(FreesDurable callback) {
        this.freesDurable = callback;
    }

    /** Makes held frees durable first when the range about to be allocated holds a held cluster. */
    private void beforeReuse(long offset, long size) throws IOException {
        if (held.isEmpty() || size <= 0) {
            return;
        }
        long last = (offset + size - 1) >>> clusterBits;
        for (long c = offset >>> clusterBits; c <= last; c++) {
            long tableIndex = c >>> refcountBlockBits;
            long blockOffset = tableIndex < table.length ? table[(int) tableIndex] & REFT_OFFSET_MASK : 0;
            Held h = blockOffset == 0 ? null : held.get(blockOffset);
            if (h != null && h.entries().get((int) (c & (refcountBlockSize - 1)))) {
                if (freesDurable == null) {
                    throw new IllegalStateException("a held free is allocated again with no way to make it durable");
                }
                freesDurable.makeDurable();
                if (!held.isEmpty()) {
                    throw new IllegalStateException("held frees were not released");
                }
                return;
            }
        }
    }

    /** Drops one reference to each cluster of the range. */
    public void freeClusters(long offset, long size) throws IOException {
        if (updateRefcount(offset, size, 1, true) == AGAIN) {
            throw new IllegalStateException("freeing clusters needed a new refcount block");
        }
    }

    /** Adds {@code addend} references (or removes them) for every cluster touching the byte range. */
    public void addReferences(long offset, long size, long addend) throws IOException {
        boolean decrease = addend < 0;
        while (updateRefcount(offset, size, Math.abs(addend), decrease) == AGAIN) {
            // a new refcount block was placed; the range was rolled back, so just apply it again
        }
    }

    /**
     * QEMU's alloc_refcount_block as update_refcount calls it for {@code clusterIndex}: nothing when a refcount block
     * covers the cluster (false); otherwise one is placed (the refcount table grown if it must) and true is returned,
     * QEMU's -EAGAIN, for callers that fail there as QEMU's snapshot code does instead of retrying.
     */
    public boolean placeRefcountBlock(long clusterIndex) throws IOException {
        return allocRefcountBlock(clusterIndex) == AGAIN;
    }

    private long sizeToClusters(long size) {
        return (size + clusterSize - 1) >>> clusterBits;
    }

    private int updateRefcount(long offset, long length, long addend, boolean decrease) throws IOException {
        if (length <= 0) {
            return 0;
        }
        long start = offset & ~(clusterSize - 1);
        long last = (offset + length - 1) & ~(clusterSize - 1);
        long oldTableIndex = -1;
        ByteBuffer block = null;
        for (long clusterOffset = start; clusterOffset <= last; clusterOffset += clusterSize) {
            long clusterIndex = clusterOffset >>> clusterBits;
            long tableIndex = clusterIndex >>> refcountBlockBits;
            if (tableIndex != oldTableIndex) {
                int ret = allocRefcountBlock(clusterIndex);
                if (ret == AGAIN) {
                    if (freeClusterIndex > (start >>> clusterBits)) {
                        freeClusterIndex = start >>> clusterBits;
                    }
                    // roll back what this call changed so far
                    updateRefcount(offset, clusterOffset - offset, addend, !decrease);
                    return AGAIN;
                }
                block = block(blockOffset(tableIndex));
                dirtyBlocks.add(blockOffset(tableIndex));
            }
            oldTableIndex = tableIndex;
            int blockIndex = (int) (clusterIndex & (refcountBlockSize - 1));
            long refcount = RefcountBlock.get(block, refcountOrder, blockIndex);
            long updated = decrease ? refcount - addend : refcount + addend;
            if (decrease ? Long.compareUnsigned(updated, refcount) > 0
                    : (Long.compareUnsigned(updated, refcount) < 0
                    || Long.compareUnsigned(updated, refcountMax) > 0)) {
                throw new ImageException("refcount of cluster " + clusterIndex + " would leave its range");
            }
            if (updated == 0 && clusterIndex < freeClusterIndex) {
                freeClusterIndex = clusterIndex;
            }
            RefcountBlock.set(block, refcountOrder, blockIndex, updated);
        }
        return 0;
    }

    private boolean inSameRefcountBlock(long offsetA, long offsetB) {
        return (offsetA >>> (clusterBits + refcountBlockBits)) == (offsetB >>> (clusterBits + refcountBlockBits));
    }

    /** Makes sure a refcount block covers {@code clusterIndex}; returns AGAIN if it had to allocate one. */
    private int allocRefcountBlock(long clusterIndex) throws IOException {
        long tableIndex = clusterIndex >>> refcountBlockBits;
        if (tableIndex < table.length && blockOffset(tableIndex) != 0) {
            return 0;
        }
        long newBlock = allocClustersNoref(clusterSize);
        if (newBlock == 0) {
            throw new ImageException("Preventing invalid allocation of refcount block at offset 0");
        }
        beforeReuse(newBlock, clusterSize); // a refcount block written over a held cluster: its frees first
        if (inSameRefcountBlock(newBlock, clusterIndex << clusterBits)) {
            ByteBuffer b = emptyBlock(newBlock);
            RefcountBlock.set(b, refcountOrder, (int) ((newBlock >>> clusterBits) & (refcountBlockSize - 1)), 1);
        } else {
            // Described elsewhere: at most two levels of recursion before a block describes itself.
            if (updateRefcount(newBlock, clusterSize, 1, false) == AGAIN) {
                return AGAIN;
            }
            emptyBlock(newBlock);
        }
        writeBlock(newBlock);

        if (tableIndex < table.length) {
            table[(int) tableIndex] = newBlock;
            writeLong(tableOffset + tableIndex * 8, newBlock);
            maxTableIndex = (int) Math.max(maxTableIndex, tableIndex);
            return AGAIN;
        }

        // The refcount table must grow: new blocks and table go after everything the blocks so far can describe.
        long blocksUsed = ceilDiv(Math.max(clusterIndex + 1, (newBlock >>> clusterBits) + 1), refcountBlockSize);
        long metaOffset = blocksUsed * refcountBlockSize * clusterSize;
        refcountArea(metaOffset, 0, false, (int) tableIndex, newBlock);
        return AGAIN;
    }

    /**
     * Creates refcount blocks and a new refcount table at {@code startOffset} that describe everything up to there
     * plus {@code additionalClusters}, switches the header to the new table and frees the old one. Returns the first
     * byte after the new structures. {@code exact} asks for no headroom in the table.
     */
    public long refcountArea(long startOffset, long additionalClusters, boolean exact, int newRefblockIndex,
                             long newRefblockOffset) throws IOException {
        long totalRefblockCount = refcountMetadataBlocks(startOffset / clusterSize + additionalClusters, !exact);
        dev.q2.util.Diagnostics.debug(RefcountAllocator.class, "new refcount area at {} for {} refcount blocks",
                startOffset, totalRefblockCount);
        if (totalRefblockCount > Limits.MAX_REFTABLE_SIZE) {
            throw new ImageException("Refcount table would exceed its maximum size");
        }
        int areaReftableIndex = (int) ((startOffset / clusterSize) / refcountBlockSize);
        long tableSize = exact ? totalRefblockCount : totalRefblockCount + ceilDiv(totalRefblockCount, 2);
        long perCluster = clusterSize / 8;
        tableSize = ceilDiv(tableSize, perCluster) * perCluster;
        long tableClusters = tableSize * 8 / clusterSize;
        if (tableSize > Limits.MAX_REFTABLE_SIZE) {
            throw new ImageException("Refcount table would exceed its maximum size");
        }
        long[] newTable = new long[(int) tableSize];
        if (tableSize > maxTableIndex) {
            System.arraycopy(table, 0, newTable, 0, Math.min(table.length, maxTableIndex + 1));
        } else {
            System.arraycopy(table, 0, newTable, 0, (int) tableSize);
        }
        if (newRefblockOffset != 0) {
            newTable[newRefblockIndex] = newRefblockOffset;
        }
        long additional = 0;
        for (int i = areaReftableIndex; i < totalRefblockCount; i++) {
            if (newTable[i] == 0) {
                additional++;
            }
        }
        long newTableOffset = startOffset + additional * clusterSize;
        long endOffset = newTableOffset + tableClusters * clusterSize;

        long blockOffset = startOffset;
        for (int i = areaReftableIndex; i < totalRefblockCount; i++) {
            ByteBuffer b;
            if (newTable[i] != 0) {
                b = block(newTable[i] & REFT_OFFSET_MASK);
            } else {
                b = emptyBlock(blockOffset);
                newTable[i] = blockOffset;
                blockOffset += clusterSize;
            }
            long firstCovered = (long) i * refcountBlockSize * clusterSize;
            if (firstCovered < endOffset) {
                long j = firstCovered < startOffset ? (startOffset - firstCovered) / clusterSize : 0;
                long endIndex = Math.min((endOffset - firstCovered) / clusterSize, refcountBlockSize);
                for (; j < endIndex; j++) {
                    RefcountBlock.set(b, refcountOrder, (int) j, 1);
                }
                dirtyBlocks.add(newTable[i] & REFT_OFFSET_MASK);
            }
        }
        flush();

        ByteBuffer t = ByteBuffer.allocate((int) (tableSize * 8)).order(ByteOrder.BIG_ENDIAN);
        t.asLongBuffer().put(newTable);
        file.writeFully(newTableOffset, t);
        ByteBuffer hdr = ByteBuffer.allocate(12).order(ByteOrder.BIG_ENDIAN);
        hdr.putLong(newTableOffset).putInt((int) tableClusters).flip();
        file.writeFully(HEADER_REFTABLE_FIELD, hdr);

        long oldOffset = tableOffset;
        long oldSize = table.length;
        table = newTable;
        tableOffset = newTableOffset;
        updateMaxTableIndex();
        freeClusters(oldOffset, oldSize * 8);
        return endOffset;
    }

    /**
     * Refcount blocks needed to describe {@code clusters} clusters plus the refcount structures themselves: the
     * fixed point of blocks and table clusters, with headroom of half the table when {@code generous}.
     */
    long refcountMetadataBlocks(long clusters, boolean generous) {
        return RefcountBlock.metadataClusters(clusters, clusterSize, refcountBlockSize, generous)[0];
    }

    /**
     * Drops refcount blocks that count nothing but themselves, as qcow2_shrink_reftable does after a shrink: the
     * whole table is rewritten with their entries cleared, then each dropped block's own refcount is cleared (in the
     * block that holds it) and the block leaves the cache unwritten. Fails, as QEMU does, when a dropped block's
     * refcount is not 1. Returns the offsets of the dropped blocks (QEMU discards them in the file).
     */
    public java.util.List<Long> shrinkTable() throws IOException {
        java.util.List<Long> dropped = new java.util.ArrayList<>();
        long[] kept = table.clone();
        for (int i = 0; i < table.length; i++) {
            long off = table[i] & REFT_OFFSET_MASK;
            if (off == 0) {
                continue;
            }
            ByteBuffer b = block(off);
            boolean self = (off >>> (clusterBits + refcountBlockBits)) == i;
            int selfIndex = (int) ((off >>> clusterBits) & (refcountBlockSize - 1));
            boolean unused = true;
            for (int j = 0; j < refcountBlockSize && unused; j++) {
                if (!(self && j == selfIndex) && RefcountBlock.get(b, refcountOrder, j) != 0) {
                    unused = false;
                }
            }
            if (unused) {
                kept[i] = 0;
            }
        }
        ByteBuffer t = ByteBuffer.allocate(kept.length * 8).order(ByteOrder.BIG_ENDIAN);
        t.asLongBuffer().put(kept);
        file.writeFully(tableOffset, t);
        for (int i = 0; i < table.length; i++) {
            long off = table[i] & REFT_OFFSET_MASK;
            if (off != 0 && kept[i] == 0) {
                long clusterIndex = off >>> clusterBits;
                long holder = blockOffset(clusterIndex >>> refcountBlockBits);
                int at = (int) (clusterIndex & (refcountBlockSize - 1));
                ByteBuffer hb = block(holder);
                long rc = RefcountBlock.get(hb, refcountOrder, at);
                if (rc != 1) {
                    throw corrupt("Invalid refcount: refblock offset 0x" + Long.toHexString(holder)
                            + ", reftable index " + i + ", block offset 0x" + Long.toHexString(off) + ", refcount 0x"
                            + Long.toHexString(rc));
                }
                RefcountBlock.set(hb, refcountOrder, at, 0);
                dirtyBlocks.add(holder);
                if (clusterIndex < freeClusterIndex) {
                    freeClusterIndex = clusterIndex;
                }
                blocks.remove(off);
                dirtyBlocks.remove(off);
                dropped.add(off);
            }
            table[i] = kept[i];
        }
        updateMaxTableIndex();
        return dropped;
    }

    private void writeBlock(long offset) throws IOException {
        ByteBuffer b = blocks.get(offset).duplicate();
        b.clear();
        Held h = held.get(offset);
        if (h != null) {
            // held entries as they were before their decreases: at worst a leak if a crash follows
            ByteBuffer merged = ByteBuffer.wrap(b.array().clone());
            for (int i = h.entries().nextSetBit(0); i >= 0; i = h.entries().nextSetBit(i + 1)) {
                RefcountBlock.set(merged, refcountOrder, i, RefcountBlock.get(h.baseline(), refcountOrder, i));
            }
            b = merged;
        }
        file.writeFully(offset, b);
        dirtyBlocks.remove(offset);
    }

    private void writeLong(long position, long value) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putLong(value);
        b.flip();
        file.writeFully(position, b);
    }

    /** Writes every changed refcount block. */
    public void flush() throws IOException {
        for (Long offset : dirtyBlocks.toArray(new Long[0])) {
            writeBlock(offset);
        }
    }

    private static long ceilDiv(long a, long b) {
        return a / b + (a % b != 0 ? 1 : 0);
    }
}
