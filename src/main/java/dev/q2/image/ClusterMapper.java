package dev.q2.image;

import dev.q2.cache.L2Cache;
import dev.q2.format.L1Entry;
import dev.q2.format.L2Corruption;
import dev.q2.format.L2Entry;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.Set;

/**
 * Seam: cluster mapping (qcow2-cluster.c): guest cluster to L2 entry through the L1 table and the L2 cache, the
 * corruption checks QEMU makes on the way, and L2 tables made writable (allocated, or copied when shared with a
 * snapshot) before an entry changes.
 */
final class ClusterMapper {
    /** A guest cluster's L2 entry and, with extended L2, its subcluster bitmap (0 otherwise). */
    record Mapping(long entry, long bitmap) {
        static final Mapping NONE = new Mapping(0, 0);

        boolean isEmpty() {
            return entry == 0 && bitmap == 0;
        }
    }

    /** Where an L2 entry lives: the cache slice holding it, and its byte position in that slice. */
    private record Slot(long sliceOffset, int position) {
    }

    private final DiskState disk;
    private final DeferredFrees frees;
    private final L2Cache l2Cache;
    private long[] l1; // the active L1 table, or a snapshot's after useL1 (read-only opens)
    private final Set<Integer> dirtyL1 = new HashSet<>();
    private final int l2Bits;
    private final long l2Entries;
    private final int entrySize;

    ClusterMapper(DiskState disk, long[] l1Table, DeferredFrees frees) {
        this.disk = disk;
        this.frees = frees;
        this.l2Cache = disk.l2Cache;
        this.l1 = l1Table.clone();
        this.l2Bits = disk.geometry.l2Bits();
        this.l2Entries = disk.geometry.entriesPerTable();
        this.entrySize = disk.geometry.entrySize();
    }

    /**
     * Maps through {@code table} from now on instead of the active L1 table (qcow2_snapshot_load_tmp: an internal
     * snapshot's state, read-only). The L2 cache stays: its slices are keyed by host offset.
     */
    void useL1(long[] table) {
        if (disk.writable) {
            throw new IllegalStateException("a snapshot's L1 table is only loaded into a read-only image");
        }
        l1 = table.clone();
        dirtyL1.clear();
    }

    /** The L2 entry type QEMU's qcow2_get_cluster_type gives an entry of this image. */
    L2Entry.Type type(long entry) {
        return L2Entry.type(entry, disk.extendedL2, disk.externalData);
    }

    private Slot slot(long l2Offset, long clusterIndex) {
        long byteInTable = (clusterIndex & (l2Entries - 1)) * entrySize;
        int sliceSize = l2Cache.sliceSize();
        long sliceOffset = l2Offset + (byteInTable / sliceSize) * sliceSize;
        return new Slot(sliceOffset, (int) (byteInTable % sliceSize));
    }

    /** The host offset of the L2 table that maps a guest cluster; 0 where there is none. */
    long l2OffsetFor(long clusterIndex) {
        long l1Index = clusterIndex >>> l2Bits;
        if (l1Index >= l1.length) {
            return 0;
        }
        return L1Entry.l2Offset(l1[(int) l1Index]);
    }

    /** Entry and bitmap of a guest cluster; {@link Mapping#NONE} where no L2 table exists. */
    Mapping lookup(long clusterIndex) throws IOException {
        long l2Offset = l2OffsetFor(clusterIndex);
        if (l2Offset == 0) {
            return Mapping.NONE;
        }
        String bad = L2Corruption.l2Table(l2Offset, clusterIndex >>> l2Bits, disk.clusterSize);
        if (bad != null) {
            throw disk.header.corrupt(bad);
        }
        Slot s = slot(l2Offset, clusterIndex);
        ByteBuffer slice = l2Cache.get(s.sliceOffset());
        return new Mapping(slice.getLong(s.position()), disk.extendedL2 ? slice.getLong(s.position() + 8) : 0);
    }

    /**
     * {@link #lookup} for a read or block-status query that starts at this cluster: an entry QEMU finds corrupt
     * there fails it (see {@link L2Corruption#entry}).
     */
    Mapping checkedLookup(long clusterIndex) throws IOException {
        Mapping m = lookup(clusterIndex);
        String bad = corruption(clusterIndex, m);
        if (bad != null) {
            throw disk.header.corrupt(bad);
        }
        return m;
    }

    /** What QEMU finds corrupt in the looked-up mapping of a guest cluster; null when nothing. */
    String corruption(long clusterIndex, Mapping m) {
        if (m.isEmpty()) {
            return null;
        }
        return L2Corruption.entry(m.entry(), m.bitmap(), clusterIndex << disk.clusterBits, l2OffsetFor(clusterIndex),
                (int) (clusterIndex & (l2Entries - 1)), disk.version(), disk.extendedL2, disk.externalData,
                disk.clusterSize);
    }

    /** Makes the L2 table of a guest cluster exist and be exclusively ours (allocating or copying it). */
    long writableL2(long clusterIndex) throws IOException {
        int l1Index = (int) (clusterIndex >>> l2Bits);
        if (l1Index >= l1.length) {
            throw new ImageException("write beyond the end of the L1 table");
        }
        long l1Entry = l1[l1Index];
        long old = L1Entry.l2Offset(l1Entry);
        if (old != 0 && L1Entry.copied(l1Entry)) {
            return old;
        }
        long clusterSize = disk.clusterSize;
        long table = disk.refcounts.allocClusters(clusterSize);
        if (table == 0) {
            // refcounts that say the header's cluster is free (QEMU's l2_allocate refuses this too)
            throw disk.header.corrupt("Preventing invalid allocation of L2 table at offset 0");
        }
        if (disk.header.refcountsDeferred()) {
            disk.refcounts.flush(); // QEMU's l2_allocate writes the refcount blocks even with lazy refcounts
        }
        int sliceSize = l2Cache.sliceSize();
        for (long off = 0; off < clusterSize; off += sliceSize) {
            // Copy the old slice out before the new one enters the cache: fetching one may evict the other.
            byte[] content = null;
            if (old != 0) {
                ByteBuffer src = l2Cache.get(old + off).duplicate();
                src.clear();
                content = new byte[sliceSize];
                src.get(content);
            }
            ByteBuffer fresh = l2Cache.getEmpty(table + off);
            if (content != null) {
                fresh.clear();
                fresh.put(content);
                fresh.clear();
            }
        }
        if (old != 0) {
            frees.add(old, clusterSize); // the table was shared with a snapshot
        }
        l1[l1Index] = table | L1Entry.OFLAG_COPIED;
        dirtyL1.add(l1Index);
        return table;
    }

    /** Sets a guest cluster's entry (and bitmap, with extended L2) in its L2 table at {@code l2Offset}. */
    void setEntry(long l2Offset, long clusterIndex, long entry, long bitmap) throws IOException {
        Slot s = slot(l2Offset, clusterIndex);
        ByteBuffer slice = l2Cache.get(s.sliceOffset());
        slice.putLong(s.position(), entry);
        if (disk.extendedL2) {
            slice.putLong(s.position() + 8, bitmap);
        }
        l2Cache.markDirty(s.sliceOffset());
    }

    /** The number of entries of the active L1 table. */
    int l1Size() {
        return l1.length;
    }

    /**
     * QEMU's qcow2_grow_l1_table (not exact): a new L1 table of at least {@code minSize} entries, grown from the old
     * size by half at a time, written before the header points at it (l1_size and l1_table_offset in one write),
     * the old table freed after. The caller has flushed: every L1 entry copied is on disk already.
     */
    void growL1(long minSize) throws IOException {
        if (minSize <= l1.length) {
            return;
        }
        if (minSize > Integer.MAX_VALUE / 8) {
            throw new ImageException("Failed to grow the L1 table: File too large");
        }
        long newSize = Math.max(1, l1.length);
        while (minSize > newSize) {
            newSize = (newSize * 3 + 1) / 2;
        }
        if (newSize > dev.q2.format.Limits.MAX_L1_SIZE / 8) {
            throw new ImageException("Failed to grow the L1 table: File too large");
        }
        long[] table = java.util.Arrays.copyOf(l1, (int) newSize);
        long offset = disk.refcounts.allocClusters(newSize * 8);
        disk.refcounts.flush();
        disk.sync(disk.file);
        ByteBuffer b = ByteBuffer.allocate((int) newSize * 8).order(ByteOrder.BIG_ENDIAN);
        b.asLongBuffer().put(table);
        disk.file.writeFully(offset, b);
        disk.sync(disk.file);
        ByteBuffer hdr = ByteBuffer.allocate(12).order(ByteOrder.BIG_ENDIAN);
        hdr.putInt((int) newSize).putLong(offset).flip();
        disk.file.writeFully(36, hdr);
        disk.sync(disk.file);
        long oldOffset = disk.header.header().l1TableOffset();
        long oldSize = l1.length;
        l1 = table;
        disk.header.replace(disk.header.header().withL1(offset, (int) newSize));
        if (oldSize > 0) {
            disk.refcounts.freeClusters(oldOffset, oldSize * 8);
        }
    }

    /** Writes the L1 entries changed since the last flush (after the L2 tables they point to are on disk). */
    void writeDirtyL1(long l1TableOffset) throws IOException {
        for (int i : dirtyL1) {
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putLong(l1[i]);
            b.flip();
            disk.file.writeFully(l1TableOffset + 8L * i, b);
        }
        dirtyL1.clear();
    }
}
