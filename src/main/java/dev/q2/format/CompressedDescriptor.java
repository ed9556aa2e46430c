package dev.q2.format;

/**
 * A compressed cluster descriptor (spec: "Compressed Clusters Descriptor"): with x = 62 - (cluster_bits - 8), bits
 * 0..x-1 hold the host byte offset of the compressed data and bits x..61 the number of additional 512-byte sectors
 * it spans after the first.
 */
public record CompressedDescriptor(long hostOffset, int additionalSectors) {
    public static final int SECTOR_SIZE = 512;

    public static int offsetBits(int clusterBits) {
        return 62 - (clusterBits - 8);
    }

    public static CompressedDescriptor decode(long entry, int clusterBits) {
        int x = offsetBits(clusterBits);
        long offset = entry & ((1L << x) - 1);
        long sectors = (entry & 0x3fffffffffffffffL) >>> x;
        return new CompressedDescriptor(offset, (int) sectors);
    }

    /** The first byte past the compressed data's last sector: what QEMU counts as the compressed span. */
    public long endOffset() {
        return (hostOffset & ~(SECTOR_SIZE - 1L)) + (additionalSectors + 1L) * SECTOR_SIZE;
    }

    public long encode(int clusterBits) {
        int x = offsetBits(clusterBits);
        return L2Entry.OFLAG_COMPRESSED | ((long) additionalSectors << x) | hostOffset;
    }
}
