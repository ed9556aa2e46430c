package dev.q2.check;

import dev.q2.format.RefcountBlock;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * The refcounts stored in the image (refcount table and refcount blocks), read through a small cache as QEMU's
 * qcow2_get_refcount reads them: a cluster past the table or under an empty table entry has refcount 0, a block
 * past the end of the file reads as zeros, and a block offset that is not cluster aligned is an I/O error. Changes
 * made while repairing stay in the cache until {@link #flush()}.
 */
final class StoredRefcounts {
    static final long REFT_OFFSET_MASK = 0xfffffffffffffe00L;
    private static final int CACHE_BLOCKS = 64;

    /**
     * The largest offset QEMU's block layer accepts for a request (BDRV_MAX_LENGTH: INT64_MAX rounded down to 1 GiB);
     * a request that starts below 0 or ends past it fails with -EIO before the file is touched.
     */
    static final long BDRV_MAX_LENGTH = Long.MAX_VALUE & ~((1L << 30) - 1);

    /**
     * qcow2_get_refcount failed with -EIO: an unaligned refcount block (which QEMU also reports as corruption), or a
     * block at an offset the block layer refuses to read (bit 63 set, or ending past {@link #BDRV_MAX_LENGTH}).
     */
    static final class UnreadableRefcount extends Exception {
        final long tableIndex;
        final long blockOffset;
        final boolean unaligned;

        UnreadableRefcount(long tableIndex, long blockOffset, boolean unaligned) {
            super(null, null, false, false);
            this.tableIndex = tableIndex;
            this.blockOffset = blockOffset;
            this.unaligned = unaligned;
        }
    }

    /** True when the block layer refuses a read of {@code length} bytes at {@code offset} (-EIO). */
    static boolean outsideBlockLayer(long offset, long length) {
        return offset < 0 || offset > BDRV_MAX_LENGTH || length > BDRV_MAX_LENGTH - offset;
    }

    private final ImageFile file;
    private final MappedTables mapped;
    private final int clusterBits;
    private final long clusterSize;
    private final int refcountOrder;
    private final int blockBits;
    private long[] table;
    private final Map<Long, ByteBuffer> cache = new LinkedHashMap<>(CACHE_BLOCKS * 2, 0.75f, true);
    private final Set<Long> dirty = new LinkedHashSet<>();
    private long lastOffset = -1;
    private ByteBuffer lastBlock;

    StoredRefcounts(MappedTables mapped, int clusterBits, int refcountOrder, long[] table, ImageFile file) {
        this.mapped = mapped;
        this.file = file;
        this.clusterBits = clusterBits;
        this.clusterSize = 1L << clusterBits;
        this.refcountOrder = refcountOrder;
        this.blockBits = clusterBits + 3 - refcountOrder;
        this.table = table;
    }

    int blockBits() {
        return blockBits;
    }

    long[] table() {
        return table;
    }

    /** Switches to a new refcount table (after a rebuild); drops the cache. */
    void replaceTable(long[] newTable) {
        table = newTable;
        cache.clear();
        dirty.clear();
        lastOffset = -1;
        lastBlock = null;
    }

    /** Offset of the refcount block covering {@code cluster}, 0 if none. */
    long blockOffsetFor(long cluster) {
        long ti = cluster >>> blockBits;
        if (ti >= table.length) {
            return 0;
        }
        return table[(int) ti] & REFT_OFFSET_MASK;
    }

    /** The stored refcount of a host cluster. */
    long get(long cluster) throws IOException, UnreadableRefcount {
        ByteBuffer b = blockFor(cluster);
        if (b == null) {
            return 0;
        }
        return RefcountBlock.get(b, refcountOrder, (int) (cluster & ((1L << blockBits) - 1)));
    }

    /** The whole refcount block covering {@code cluster} (shared, read-only for callers), or null if none. */
    ByteBuffer blockFor(long cluster) throws IOException, UnreadableRefcount {
        long ti = cluster >>> blockBits;
        if (ti >= table.length) {
            return null;
        }
        long offset = table[(int) ti] & REFT_OFFSET_MASK;
        if (offset == 0) {
            return null;
        }
        if ((offset & (clusterSize - 1)) != 0) {
            throw new UnreadableRefcount(ti, offset, true);
        }
        if (outsideBlockLayer(offset, clusterSize)) {
            throw new UnreadableRefcount(ti, offset, false);
        }
        return load(offset);
    }

    private ByteBuffer load(long offset) throws IOException {
        if (offset == lastOffset) {
            return lastBlock;
        }
        ByteBuffer b = cache.get(offset);
        if (b == null) {
            b = ByteBuffer.allocate((int) clusterSize).order(ByteOrder.BIG_ENDIAN);
            mapped.read(offset, b);
            cache.put(offset, b);
            if (cache.size() > CACHE_BLOCKS) {
                evictClean();
            }
        }
        lastOffset = offset;
        lastBlock = b;
        return b;
    }

    private void evictClean() {
        var it = cache.entrySet().iterator();
        while (it.hasNext() && cache.size() > CACHE_BLOCKS) {
            var e = it.next();
            if (!dirty.contains(e.getKey()) && e.getKey() != lastOffset) {
                it.remove();
            }
        }
    }

    /** Changes a stored refcount in the cache (the block must exist). */
    void set(long cluster, long value) throws IOException, UnreadableRefcount {
        ByteBuffer b = blockFor(cluster);
        if (b == null) {
            throw new IllegalStateException("no refcount block for cluster " + cluster);
        }
        RefcountBlock.set(b, refcountOrder, (int) (cluster & ((1L << blockBits) - 1)), value);
        dirty.add(table[(int) (cluster >>> blockBits)] & REFT_OFFSET_MASK);
    }

    boolean hasDirtyBlocks() {
        return !dirty.isEmpty();
    }

    /** Writes the changed refcount blocks (the caller syncs). */
    void flush() throws IOException {
        for (Long offset : dirty) {
            ByteBuffer b = cache.get(offset).duplicate();
            b.clear();
            file.writeFully(offset, b);
        }
        dirty.clear();
    }
}
