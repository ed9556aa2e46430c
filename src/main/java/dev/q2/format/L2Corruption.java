package dev.q2.format;

/**
 * L2 metadata that QEMU's qcow2 driver finds corrupt when a guest access or a block-status query reaches it
 * (qcow2_get_host_offset), and the words it uses after "Image is corrupt: ". Numbers are C's {@code %#x}: "0" for
 * zero, "0x…" otherwise. L2 indexes are the entry's index in its table (QEMU's slice index with its default
 * l2-cache-entry-size, one cluster).
 */
public final class L2Corruption {
    private L2Corruption() {
    }

    /**
     * The L1 entry's L2 table offset is not cluster aligned; null when it is.
     *
     * @param l2Offset the L2 table offset the L1 entry names
     * @param l1Index the L1 entry's index
     * @param clusterSize the cluster size in bytes
     * @return QEMU's words, or null
     */
    public static String l2Table(long l2Offset, long l1Index, long clusterSize) {
        if ((l2Offset & (clusterSize - 1)) == 0) {
            return null;
        }
        return "L2 table offset " + hex(l2Offset) + " unaligned (L1 index: " + hex(l1Index) + ")";
    }

    /**
     * What is wrong with an L2 entry when an access starts at it, in QEMU's order; null when nothing is. The rules
     * hold for the entry as a whole, whichever of its subclusters is accessed: the zero flag in a version 2 image,
     * a compressed cluster with an external data file, a host cluster offset that is not cluster aligned, a host
     * cluster in the external data file that is not the guest cluster, an {@link SubclusterType#INVALID} bitmap.
     *
     * @param entry the L2 entry (its first word when extended)
     * @param bitmap the subcluster bitmap (extended L2 only)
     * @param guestCluster guest offset of the entry's cluster
     * @param l2Offset the offset of the entry's L2 table
     * @param l2Index the entry's index in its L2 table
     * @param version the image's qcow2 version (2 or 3)
     * @param extendedL2 whether L2 entries are extended
     * @param externalDataFile whether the image has an external data file
     * @param clusterSize the cluster size in bytes
     * @return QEMU's words, or null
     */
    public static String entry(long entry, long bitmap, long guestCluster, long l2Offset, int l2Index, int version,
                               boolean extendedL2, boolean externalDataFile, long clusterSize) {
        SubclusterType t = SubclusterType.of(entry, bitmap, 0, extendedL2, externalDataFile);
        if (version < 3 && t.zero()) {
            return "Zero cluster entry found in pre-v3 image (L2 offset: " + hex(l2Offset) + ", L2 index: "
                    + hex(l2Index) + ")";
        }
        if (t == SubclusterType.COMPRESSED) {
            return externalDataFile ? "Compressed cluster entry found in image with external data file (L2 offset: "
                    + hex(l2Offset) + ", L2 index: " + hex(l2Index) + ")" : null;
        }
        if (t == SubclusterType.INVALID) {
            return invalid(l2Offset, l2Index);
        }
        if (t.hasHostCluster()) {
            long host = entry & L2Entry.OFFSET_MASK;
            if ((host & (clusterSize - 1)) != 0) {
                return "Cluster allocation offset " + hex(host) + " unaligned (L2 offset: " + hex(l2Offset)
                        + ", L2 index: " + hex(l2Index) + ")";
            }
            if (externalDataFile && host != guestCluster) {
                return "External data file host cluster offset " + hex(host) + " does not match guest cluster offset: "
                        + hex(guestCluster) + ", L2 index: " + hex(l2Index) + ")";
            }
        }
        return null;
    }

    /**
     * A write into a cluster in place (it has OFLAG_COPIED) whose host offset is not cluster aligned
     * (qcow2's handle_copied); {@code guestOffset} is where the write starts in that cluster.
     *
     * @param hostCluster the entry's host cluster offset
     * @param guestOffset where the write starts
     * @return QEMU's words
     */
    public static String unalignedWrite(long hostCluster, long guestOffset) {
        return "Data cluster offset " + hex(hostCluster) + " unaligned (guest offset: " + hex(guestOffset) + ")";
    }

    /**
     * An extended entry whose bitmap QEMU refuses ({@link SubclusterType#INVALID}), met anywhere in a run.
     *
     * @param l2Offset the offset of the entry's L2 table
     * @param l2Index the entry's index in its L2 table
     * @return QEMU's words
     */
    public static String invalid(long l2Offset, int l2Index) {
        return "Invalid cluster entry found  (L2 offset: " + hex(l2Offset) + ", L2 index: " + hex(l2Index) + ")";
    }

    /**
     * C's {@code %#x}.
     *
     * @param v the value (unsigned)
     * @return "0", or "0x" and lower-case hex digits
     */
    public static String hex(long v) {
        return v == 0 ? "0" : "0x" + Long.toHexString(v);
    }
}
