package dev.q2;

/**
 * How large an L2 cache a qcow2 image needs ({@link Qcow2#cacheReport}): the numbers q2 info's "L2 cache" section
 * shows, with the QEMU option and libvirt element that give a cache covering the whole disk. Immutable and
 * thread-safe.
 *
 * @param l2EntrySize bytes per L2 entry (8, or 16 with extended L2)
 * @param l2EntriesPerTable entries in one L2 table (one cluster)
 * @param allocationUnit bytes one L2 entry maps at the finest grain: the cluster, or the subcluster with
 *     extended L2
 * @param tablesForFullCoverage L2 tables that map the whole virtual disk
 * @param fullCoverageBytes the cache size that holds all of them
 * @param allocatedL2Tables L2 tables the image's L1 table points to
 * @param defaultCacheBytes QEMU's default cache cap (32 MiB)
 * @param defaultCacheCoverageBytes guest bytes the default cache covers
 * @param defaultCoversDisk whether the default cache covers the whole disk
 * @param qemuOption the {@code -drive} option for full coverage ({@code l2-cache-size=...})
 * @param libvirtDriver the libvirt {@code <driver>} element for full coverage
 */
public record CacheReport(int l2EntrySize, long l2EntriesPerTable, long allocationUnit, long tablesForFullCoverage,
                          long fullCoverageBytes, long allocatedL2Tables, long defaultCacheBytes,
                          long defaultCacheCoverageBytes, boolean defaultCoversDisk, String qemuOption,
                          String libvirtDriver) {
}
