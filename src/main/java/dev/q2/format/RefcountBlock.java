package dev.q2.format;

import java.nio.ByteBuffer;

/**
 * Reads and writes refcounts in a refcount block of any width (spec: {@code refcount_bits = 1 << refcount_order},
 * 1 to 64 bits). Narrow refcounts are packed with the first entry in the least significant bits of each byte; wider
 * ones are big-endian.
 */
public final class RefcountBlock {
    private RefcountBlock() {
    }

    public static long get(ByteBuffer block, int refcountOrder, int index) {
        switch (refcountOrder) {
            case 0, 1, 2 -> {
                int bits = 1 << refcountOrder;
                int perByte = 8 / bits;
                int b = block.get(index / perByte) & 0xff;
                int shift = (index % perByte) * bits;
                return (b >>> shift) & ((1 << bits) - 1);
            }
            case 3 -> {
                return block.get(index) & 0xffL;
            }
            case 4 -> {
                return block.getShort(index * 2) & 0xffffL;
            }
            case 5 -> {
                return block.getInt(index * 4) & 0xffffffffL;
            }
            case 6 -> {
                return block.getLong(index * 8);
            }
            default -> throw new IllegalArgumentException("refcount_order " + refcountOrder);
        }
    }

    public static void set(ByteBuffer block, int refcountOrder, int index, long value) {
        switch (refcountOrder) {
            case 0, 1, 2 -> {
                int bits = 1 << refcountOrder;
                int perByte = 8 / bits;
                int pos = index / perByte;
                int shift = (index % perByte) * bits;
                int mask = ((1 << bits) - 1) << shift;
                int b = block.get(pos) & 0xff;
                block.put(pos, (byte) ((b & ~mask) | (((int) value << shift) & mask)));
            }
            case 3 -> block.put(index, (byte) value);
            case 4 -> block.putShort(index * 2, (short) value);
            case 5 -> block.putInt(index * 4, (int) value);
            case 6 -> block.putLong(index * 8, value);
            default -> throw new IllegalArgumentException("refcount_order " + refcountOrder);
        }
    }

    /**
     * As {@link #get(ByteBuffer, int, int)}, on the bytes of a block: for loops over many refcounts in a row, whose
     * few bytecodes the JIT compiles at once (a short command runs mostly in the interpreter and C1).
     */
    public static long get(byte[] block, int refcountOrder, int index) {
        switch (refcountOrder) {
            case 4 -> {
                int p = index << 1;
                return ((block[p] & 0xffL) << 8) | (block[p + 1] & 0xffL);
            }
            case 0, 1, 2 -> {
                int bits = 1 << refcountOrder;
                int shift = (index & ((8 >> refcountOrder) - 1)) * bits;
                return ((block[index >> (3 - refcountOrder)] & 0xff) >>> shift) & ((1 << bits) - 1);
            }
            case 3 -> {
                return block[index] & 0xffL;
            }
            case 5 -> {
                int p = index << 2;
                return ((block[p] & 0xffL) << 24) | ((block[p + 1] & 0xffL) << 16) | ((block[p + 2] & 0xffL) << 8)
                        | (block[p + 3] & 0xffL);
            }
            default -> {
                int p = index << 3;
                return ((long) block[p] << 56) | ((block[p + 1] & 0xffL) << 48) | ((block[p + 2] & 0xffL) << 40)
                        | ((block[p + 3] & 0xffL) << 32) | ((block[p + 4] & 0xffL) << 24)
                        | ((block[p + 5] & 0xffL) << 16) | ((block[p + 6] & 0xffL) << 8) | (block[p + 7] & 0xffL);
            }
        }
    }

    /** As {@link #set(ByteBuffer, int, int, long)}, on the bytes of a block. */
    public static void set(byte[] block, int refcountOrder, int index, long value) {
        switch (refcountOrder) {
            case 4 -> {
                int p = index << 1;
                block[p] = (byte) (value >>> 8);
                block[p + 1] = (byte) value;
            }
            case 0, 1, 2 -> {
                int bits = 1 << refcountOrder;
                int pos = index >> (3 - refcountOrder);
                int shift = (index & ((8 >> refcountOrder) - 1)) * bits;
                int mask = ((1 << bits) - 1) << shift;
                block[pos] = (byte) ((block[pos] & ~mask) | (((int) value << shift) & mask));
            }
            case 3 -> block[index] = (byte) value;
            case 5 -> {
                int p = index << 2;
                block[p] = (byte) (value >>> 24);
                block[p + 1] = (byte) (value >>> 16);
                block[p + 2] = (byte) (value >>> 8);
                block[p + 3] = (byte) value;
            }
            default -> {
                int p = index << 3;
                block[p] = (byte) (value >>> 56);
                block[p + 1] = (byte) (value >>> 48);
                block[p + 2] = (byte) (value >>> 40);
                block[p + 3] = (byte) (value >>> 32);
                block[p + 4] = (byte) (value >>> 24);
                block[p + 5] = (byte) (value >>> 16);
                block[p + 6] = (byte) (value >>> 8);
                block[p + 7] = (byte) value;
            }
        }
    }

    /** Largest refcount a width can hold. */
    public static long maxRefcount(int refcountOrder) {
        return refcountOrder == 6 ? Long.MAX_VALUE : (1L << (1 << refcountOrder)) - 1;
    }

    /** Entries in one refcount block of the given cluster size. */
    public static long entriesPerBlock(int clusterBits, int refcountOrder) {
        return 1L << (clusterBits + 3 - refcountOrder);
    }

    /**
     * qcow2_refcount_metadata_size's fixed point: the refcount blocks and refcount table clusters that describe
     * {@code clusters} clusters plus themselves; with {@code generous}, found again after adding half the table's
     * clusters as headroom.
     *
     * @param clusters the clusters to describe, besides the refcount structures
     * @param clusterSize the cluster size in bytes
     * @param refcountsPerBlock refcount entries in one block
     * @param generous whether to add QEMU's headroom
     * @return {refcount blocks, refcount table clusters}
     */
    public static long[] metadataClusters(long clusters, long clusterSize, long refcountsPerBlock, boolean generous) {
        long blocksPerTableCluster = clusterSize / 8;
        long tableClusters = 0;
        long blocks = 0;
        long n = 0;
        long last;
        do {
            last = n;
            blocks = divRoundUp(clusters + tableClusters + blocks, refcountsPerBlock);
            tableClusters = divRoundUp(blocks, blocksPerTableCluster);
            n = clusters + blocks + tableClusters;
            if (n == last && generous) {
                clusters += divRoundUp(tableClusters, 2);
                n = 0;
                generous = false;
            }
        } while (n != last);
        return new long[] {blocks, tableClusters};
    }

    private static long divRoundUp(long a, long b) {
        return Long.divideUnsigned(a, b) + (Long.remainderUnsigned(a, b) != 0 ? 1 : 0);
    }
}
