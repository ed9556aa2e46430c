package dev.q2.cache;

import dev.q2.format.L2Geometry;

/**
 * How much L2 cache a qcow2 image needs, from its geometry alone. One L2 table is one cluster and holds
 * cluster_size / entry_size entries (8-byte entries, or 16 bytes with extended L2); each entry maps one cluster.
 * So a cache that holds every table of the disk needs ceil(virtual_size / (cluster_size * entries_per_table))
 * tables of cluster_size bytes each: about virtual_size * entry_size / cluster_size bytes.
 *
 * @param virtualSize guest disk size in bytes
 * @param clusterSize cluster size in bytes
 * @param extendedL2 whether L2 entries are 16 bytes with a 32-subcluster bitmap
 */
public record L2CacheSizing(long virtualSize, long clusterSize, boolean extendedL2) {
    /** QEMU's default maximum L2 cache size (DEFAULT_L2_CACHE_MAX_SIZE, on Linux): 32 MiB. */
    public static final long QEMU_DEFAULT_MAX = 32L << 20;

    public int entrySize() {
        return L2Geometry.entrySize(extendedL2);
    }

    public long entriesPerTable() {
        return clusterSize / entrySize();
    }

    /** Smallest unit a guest write allocates: a subcluster (cluster/32) with extended L2, else a cluster. */
    public long allocationUnit() {
        return L2Geometry.subclusterSize(clusterSize, extendedL2);
    }

    /** Guest bytes one L2 table maps. */
    public long bytesPerTable() {
        return clusterSize * entriesPerTable();
    }

    /** L2 tables needed to map the whole virtual disk. */
    public long tablesForFullCoverage() {
        long per = bytesPerTable();
        return virtualSize / per + (virtualSize % per != 0 ? 1 : 0);
    }

    /** Cache bytes that hold every L2 table of the disk: whole tables × cluster size. */
    public long fullCoverageBytes() {
        return tablesForFullCoverage() * clusterSize;
    }

    /** Guest bytes a cache of {@code cacheBytes} maps: cache ÷ entry size × cluster size, at most the disk. */
    public long coverageOf(long cacheBytes) {
        long entries = cacheBytes / entrySize();
        long mapped = entries > Long.MAX_VALUE / clusterSize ? Long.MAX_VALUE : entries * clusterSize;
        return Math.min(mapped, virtualSize);
    }

    /** What QEMU's default maximum cache maps of this disk. */
    public long defaultCacheCoverageBytes() {
        return coverageOf(QEMU_DEFAULT_MAX);
    }

    public boolean defaultCoversDisk() {
        return fullCoverageBytes() <= QEMU_DEFAULT_MAX;
    }

    /**
     * Default capacity for q2's own cache: full coverage, capped at {@code max}, and never less than one table.
     */
    public long defaultCapacity(long max) {
        return Math.max(clusterSize, Math.min(fullCoverageBytes(), max));
    }

    /**
     * The QEMU {@code -drive} option for a cache that covers the whole disk.
     *
     * @return {@code l2-cache-size=BYTES}
     */
    public String qemuOption() {
        return "l2-cache-size=" + fullCoverageBytes();
    }

    /**
     * The libvirt {@code <driver>} element for a cache that covers the whole disk.
     *
     * @return the element
     */
    public String libvirtDriver() {
        return "<driver name='qemu' type='qcow2'><metadata_cache><max_size unit='bytes'>" + fullCoverageBytes()
                + "</max_size></metadata_cache></driver>";
    }
}
