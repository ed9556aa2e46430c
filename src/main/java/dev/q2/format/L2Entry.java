package dev.q2.format;

/**
 * Bit layout of a (standard part of an) L2 table entry (spec: "Standard Cluster Descriptor", "Compressed Clusters
 * Descriptor"). Static helpers over the raw 64-bit value, because L2 tables are scanned by the million.
 */
public final class L2Entry {
    private L2Entry() {
    }

    /** Bit 63: the cluster's refcount is exactly one (it may be written in place). */
    public static final long OFLAG_COPIED = 1L << 63;
    /** Bit 62: the cluster is compressed (the rest of the entry is a compressed cluster descriptor). */
    public static final long OFLAG_COMPRESSED = 1L << 62;
    /** Bit 0 of a standard descriptor: the cluster reads as zeros (version 3). */
    public static final long OFLAG_ZERO = 1L;
    /** Bits 9-55: host cluster offset of a standard cluster. */
    public static final long OFFSET_MASK = 0x00fffffffffffe00L;
    /** Bits 1-8 and 56-61 of a standard descriptor must be zero. */
    public static final long STANDARD_RESERVED_MASK = 0x3f000000000001feL;

    /** What a (standard part of an) L2 entry says about its cluster. */
    public enum Type {
        /** Nothing allocated: reads from the backing file, or zeros. */
        UNALLOCATED,
        /** Zero flag set, no host cluster. */
        ZERO_PLAIN,
        /** Zero flag set with a preallocated host cluster. */
        ZERO_ALLOC,
        /** Data in a host cluster. */
        NORMAL,
        /** Compressed data. */
        COMPRESSED
    }

    /**
     * Classifies an entry of an image without an external data file; see {@link #type(long, boolean, boolean)}.
     *
     * @param entry the L2 entry (its first word when extended)
     * @param extendedL2 whether L2 entries are extended
     * @return its type
     */
    public static Type type(long entry, boolean extendedL2) {
        return type(entry, extendedL2, false);
    }

    /**
     * Classifies an entry as QEMU's qcow2_get_cluster_type does. For extended L2 the zero flag is not used
     * (subcluster bits say what is zero), so bit 0 counts as reserved instead. With an external data file, host
     * offset 0 is a valid cluster, told from "unallocated" by OFLAG_COPIED (data file clusters always have
     * refcount 1).
     *
     * @param entry the L2 entry (its first word when extended)
     * @param extendedL2 whether L2 entries are extended
     * @param externalDataFile whether the image has an external data file
     * @return its type
     */
    public static Type type(long entry, boolean extendedL2, boolean externalDataFile) {
        if ((entry & OFLAG_COMPRESSED) != 0) {
            return Type.COMPRESSED;
        }
        if (!extendedL2 && (entry & OFLAG_ZERO) != 0) {
            return (entry & OFFSET_MASK) != 0 ? Type.ZERO_ALLOC : Type.ZERO_PLAIN;
        }
        return hasHostCluster(entry, externalDataFile) ? Type.NORMAL : Type.UNALLOCATED;
    }

    /**
     * Whether a (non-compressed) entry points to a host cluster, offset 0 of an external data file included.
     *
     * @param entry the L2 entry
     * @param externalDataFile whether the image has an external data file
     * @return true when it names a host cluster
     */
    public static boolean hasHostCluster(long entry, boolean externalDataFile) {
        return (entry & OFFSET_MASK) != 0 || (externalDataFile && (entry & OFLAG_COPIED) != 0);
    }

    /**
     * The host cluster offset of a standard entry (bits 9-55).
     *
     * @param entry the L2 entry
     * @return the offset, 0 for none
     */
    public static long hostOffset(long entry) {
        return entry & OFFSET_MASK;
    }

    /**
     * Whether OFLAG_COPIED is set.
     *
     * @param entry the L2 (or L1) entry
     * @return true when set
     */
    public static boolean copied(long entry) {
        return (entry & OFLAG_COPIED) != 0;
    }

    /**
     * Whether OFLAG_COMPRESSED is set.
     *
     * @param entry the L2 entry
     * @return true when set
     */
    public static boolean compressed(long entry) {
        return (entry & OFLAG_COMPRESSED) != 0;
    }
}
