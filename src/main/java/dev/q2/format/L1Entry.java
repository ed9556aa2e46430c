package dev.q2.format;

/** Bit layout of an L1 table entry (spec: "L1 table entry"). Static helpers over the raw 64-bit value. */
public final class L1Entry {
    private L1Entry() {
    }

    public static final long OFLAG_COPIED = 1L << 63;
    /** Bits 9-55: offset of the L2 table. */
    public static final long OFFSET_MASK = 0x00fffffffffffe00L;
    /** Bits 1-8 and 56-62 must be zero. */
    public static final long RESERVED_MASK = 0x7f000000000001ffL;

    public static long l2Offset(long entry) {
        return entry & OFFSET_MASK;
    }

    public static boolean copied(long entry) {
        return (entry & OFLAG_COPIED) != 0;
    }
}
