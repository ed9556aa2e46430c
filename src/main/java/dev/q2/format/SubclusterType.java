package dev.q2.format;

/**
 * What a (sub)cluster is, as QEMU's qcow2_get_subcluster_type tells it from an L2 entry and (extended L2) its
 * subcluster bitmap. Without extended L2 a cluster is one subcluster. {@link #INVALID} is an extended entry whose
 * bitmap contradicts itself: a subcluster both allocated and zero, or allocated subclusters without a host cluster.
 */
public enum SubclusterType {
    NORMAL, COMPRESSED, ZERO_PLAIN, ZERO_ALLOC, UNALLOCATED_PLAIN, UNALLOCATED_ALLOC, INVALID;

    /** Whether the entry names a host cluster for this subcluster (data, preallocated zeros or unallocated). */
    public boolean hasHostCluster() {
        return this == NORMAL || this == ZERO_ALLOC || this == UNALLOCATED_ALLOC;
    }

    public boolean zero() {
        return this == ZERO_PLAIN || this == ZERO_ALLOC;
    }

    /** Type of a standard (not extended) L2 entry. */
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
     * @param bitmap the subcluster bitmap (extended L2 only)
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
