package dev.q2.format;

/** Upper bounds QEMU puts on metadata sizes; checked before anything is allocated from a size field. */
public final class Limits {
    private Limits() {
    }

    /** QCOW_MAX_L1_SIZE: the largest active or snapshot L1 table, in bytes. */
    public static final long MAX_L1_SIZE = 32L << 20;
    /** QCOW_MAX_REFTABLE_SIZE: the largest refcount table, in bytes. */
    public static final long MAX_REFTABLE_SIZE = 8L << 20;
    /** QCOW_MAX_SNAPSHOTS. */
    public static final int MAX_SNAPSHOTS = 65536;
    /** QCOW_MAX_SNAPSHOTS_SIZE: the largest snapshot table, in bytes. */
    public static final long MAX_SNAPSHOTS_SIZE = 1024L * MAX_SNAPSHOTS;
    /** QCOW2_MAX_BITMAPS. */
    public static final int MAX_BITMAPS = 65535;
    /** QCOW2_MAX_BITMAP_DIRECTORY_SIZE. */
    public static final long MAX_BITMAP_DIRECTORY_SIZE = 1024L * MAX_BITMAPS;
    /** The backing file name must fit in 1023 bytes (as QEMU). */
    public static final int MAX_BACKING_FILE_NAME = 1023;
}
