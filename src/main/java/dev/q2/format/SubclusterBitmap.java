package dev.q2.format;

/**
 * The second 64 bits of an extended L2 entry (spec: "Extended L2 Entries"): bit n (0-31) says subcluster n is
 * allocated, bit 32+n says it reads as zeros.
 */
public final class SubclusterBitmap {
    private SubclusterBitmap() {
    }

    public static final int SUBCLUSTERS = 32;

    public static int allocMask(long bitmap) {
        return (int) bitmap;
    }

    public static int zeroMask(long bitmap) {
        return (int) (bitmap >>> 32);
    }

    public static boolean allocated(long bitmap, int subcluster) {
        return (bitmap & (1L << subcluster)) != 0;
    }

    public static boolean zero(long bitmap, int subcluster) {
        return (bitmap & (1L << (32 + subcluster))) != 0;
    }

    public static long of(int allocMask, int zeroMask) {
        return (allocMask & 0xffffffffL) | ((long) zeroMask << 32);
    }
}
