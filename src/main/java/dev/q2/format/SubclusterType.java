package dev.q2.format;

/**
 * What a (sub)cluster is, as QEMU's qcow2_get_subcluster_type tells it from an L2 entry and (extended L2) its
 * subcluster bitmap. Without extended L2 a cluster is one subcluster. {@link #INVALID} is an extended entry whose
 * bitmap contradicts itself: a subcluster both allocated and zero, or allocated subclusters without a host cluster.
 */
public enum SubclusterType {
    /** Data in a host cluster (QCOW2_SUBCLUSTER_NORMAL). */
    NORMAL,
    /** Data in a compressed cluster (QCOW2_SUBCLUSTER_COMPRESSED). */
    COMPRESSED,
    /** Reads as zeros, no host cluster (QCOW2_SUBCLUSTER_ZERO_PLAIN). */
    ZERO_PLAIN,
    /** Reads as zeros, with a preallocated host cluster (QCOW2_SUBCLUSTER_ZERO_ALLOC). */
    ZERO_ALLOC,
    /** Not allocated here (reads from the backing file), no host cluster (QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN). */
    UNALLOCATED_PLAIN,
    /** Not allocated here, but the entry has a host cluster (QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC). */
    UNALLOCATED_ALLOC,
    /** An extended entry whose bitmap contradicts itself (QCOW2_SUBCLUSTER_INVALID). */
    INVALID;

    /**
     * Whether the entry names a host cluster for this subcluster (data, preallocated zeros or unallocated).
     *
     * @return true for NORMAL, ZERO_ALLOC and UNALLOCATED_ALLOC
     */
    public boolean hasHostCluster() {
        return this == NORMAL || this == ZERO_ALLOC || this == UNALLOCATED_ALLOC;
    }

    /** @return whether the subcluster reads as zeros (ZERO_PLAIN or ZERO_ALLOC) */
    public boolean zero() {
        return this == ZERO_PLAIN || this == ZERO_ALLOC;
    }

    /**
     * Type of a standard (not extended) L2 entry.
     *
     * @param entry the L2 entry
     * @param externalDataFile whether the image has an external data file (an offset of 0 is then valid)
     * @return its type
     */
    public static SubclusterType ofStandard(long entry, boolean externalDataFile) {
        return switch (L2Entry.type(entry, false, externalDataFile)) {
            case COMPRESSED -> COMPRESSED;
            case ZERO_ALLOC -> ZERO_ALLOC;
            case ZERO_PLAIN -> ZERO_PLAIN;
            case NORMAL -> NORMAL;
            case UNALLOCATED -> UNALLOCATED_PLAIN;
        };
    }

    /**
     * Type of subcluster {@code sc} of an entry.
     *
     * @param entry the L2 entry (its first word when extended)
     * @param bitmap the subcluster bitmap (extended L2 only)
     * @param sc the subcluster's index, 0 to 31 (0 without extended L2)
     * @param extendedL2 whether L2 entries are extended
     * @param externalDataFile whether the image has an external data file (an offset of 0 is then valid)
     * @return its type
     */
    public static SubclusterType of(long entry, long bitmap, int sc, boolean extendedL2, boolean externalDataFile) {
        if (!extendedL2) {
            return ofStandard(entry, externalDataFile);
        }
        if ((entry & L2Entry.OFLAG_COMPRESSED) != 0) {
            return COMPRESSED;
        }
        int alloc = SubclusterBitmap.allocMask(bitmap);
        int zero = SubclusterBitmap.zeroMask(bitmap);
        if (L2Entry.hasHostCluster(entry, externalDataFile)) {
            if ((alloc & zero) != 0) {
                return INVALID;
            }
            if ((zero & (1 << sc)) != 0) {
                return ZERO_ALLOC;
            }
            return (alloc & (1 << sc)) != 0 ? NORMAL : UNALLOCATED_ALLOC;
        }
        if (alloc != 0) {
            return INVALID;
        }
        return (zero & (1 << sc)) != 0 ? ZERO_PLAIN : UNALLOCATED_PLAIN;
    }
}
