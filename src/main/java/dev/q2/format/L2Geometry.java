package dev.q2.format;

/**
 * The shape of L2 tables that follows from the cluster size and the extended L2 bit (spec: "Cluster mapping",
 * "Extended L2 Entries"): an L2 table is one cluster of entries of 8 bytes, or 16 bytes with extended L2 (the
 * second word is the subcluster bitmap), so it holds 2^l2_bits entries with l2_bits = cluster_bits - 3 (or - 4);
 * with extended L2 a cluster has 32 subclusters. The one place these rules are written down.
 *
 * @param clusterBits log2 of the cluster size
 * @param extendedL2 whether L2 entries are extended (16 bytes with a subcluster bitmap)
 */
public record L2Geometry(int clusterBits, boolean extendedL2) {
    /**
     * The geometry of an image with this header.
     *
     * @param header the image's header
     * @return its L2 geometry
     */
    public static L2Geometry of(QcowHeader header) {
        return new L2Geometry(header.clusterBits(), header.extendedL2());
    }

    /**
     * Bytes per L2 entry: 8, or 16 with extended L2 entries.
     *
     * @param extendedL2 whether L2 entries are extended
     * @return the entry size in bytes
     */
    public static int entrySize(boolean extendedL2) {
        return extendedL2 ? 16 : 8;
    }

    /**
     * l2_bits: log2 of the number of entries in one L2 table.
     *
     * @param clusterBits log2 of the cluster size
     * @param extendedL2 whether L2 entries are extended
     * @return l2_bits
     */
    public static int l2Bits(int clusterBits, boolean extendedL2) {
        return clusterBits - (extendedL2 ? 4 : 3);
    }

    /**
     * Entries in one L2 table of a cluster of {@code clusterSize} bytes.
     *
     * @param clusterSize the cluster size in bytes
     * @param extendedL2 whether L2 entries are extended
     * @return the number of entries
     */
    public static long entriesPerTable(long clusterSize, boolean extendedL2) {
        return clusterSize / entrySize(extendedL2);
    }

    /**
     * Subclusters per cluster: 32 with extended L2, else 1 (the cluster itself).
     *
     * @param extendedL2 whether L2 entries are extended
     * @return the number of subclusters
     */
    public static int subclustersPerCluster(boolean extendedL2) {
        return extendedL2 ? SubclusterBitmap.SUBCLUSTERS : 1;
    }

    /**
     * The smallest unit an L2 entry maps: a subcluster with extended L2 (cluster / 32), else the cluster.
     *
     * @param clusterSize the cluster size in bytes
     * @param extendedL2 whether L2 entries are extended
     * @return the subcluster size in bytes
     */
    public static long subclusterSize(long clusterSize, boolean extendedL2) {
        return clusterSize / subclustersPerCluster(extendedL2);
    }

    /** @return the cluster size in bytes */
    public long clusterSize() {
        return 1L << clusterBits;
    }

    /** @return bytes per L2 entry (8 or 16) */
    public int entrySize() {
        return entrySize(extendedL2);
    }

    /** @return l2_bits, log2 of the entries in one L2 table */
    public int l2Bits() {
        return l2Bits(clusterBits, extendedL2);
    }

    /** @return the entries in one L2 table */
    public long entriesPerTable() {
        return 1L << l2Bits();
    }

    /** @return the guest bytes one L2 table maps */
    public long bytesPerTable() {
        return clusterSize() << l2Bits();
    }

    /** @return subclusters per cluster (32 with extended L2, else 1) */
    public int subclustersPerCluster() {
        return subclustersPerCluster(extendedL2);
    }

    /** @return the smallest unit an L2 entry maps, in bytes */
    public long subclusterSize() {
        return subclusterSize(clusterSize(), extendedL2);
    }

    /** @return log2 of the subcluster size */
    public int subclusterBits() {
        return clusterBits - Integer.numberOfTrailingZeros(subclustersPerCluster());
    }

    /**
     * The L1 index of a guest cluster: which L2 table maps it.
     *
     * @param clusterIndex the guest cluster's index (guest offset / cluster size)
     * @return its L1 index
     */
    public long l1Index(long clusterIndex) {
        return clusterIndex >>> l2Bits();
    }

    /**
     * The index of a guest cluster's entry within its L2 table.
     *
     * @param clusterIndex the guest cluster's index (guest offset / cluster size)
     * @return its index in the L2 table
     */
    public int l2Index(long clusterIndex) {
        return (int) (clusterIndex & (entriesPerTable() - 1));
    }
}
