package dev.q2.create;

import dev.q2.format.L2Geometry;

/**
 * A checked qcow2 create request: every value resolved, defaults applied, the combination known to be valid.
 *
 * @param size virtual size in bytes, already rounded up to 512 as QEMU does
 */
public record CreateSpec(
        long size,
        int clusterBits,
        int version,
        boolean extendedL2,
        int refcountOrder,
        boolean lazyRefcounts,
        Preallocation preallocation,
        int compressionType,
        String backingFile,
        String backingFormat,
        String dataFile,
        boolean dataFileRaw) {

    public long clusterSize() {
        return 1L << clusterBits;
    }

    public int l2Bits() {
        return L2Geometry.l2Bits(clusterBits, extendedL2);
    }

    /** L1 entries a disk of this size needs. */
    public long l1Entries() {
        long coverage = clusterSize() << l2Bits();
        return size / coverage + (size % coverage != 0 ? 1 : 0);
    }
}
