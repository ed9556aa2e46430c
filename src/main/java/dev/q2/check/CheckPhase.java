package dev.q2.check;

/**
 * The phases of one check pass, in the order they run (QEMU's qcow2_co_check and qcow2_check_refcounts), as a
 * {@link CheckListener} sees them start.
 */
public enum CheckPhase {
    /** Reading and checking the snapshot table (qcow2_check_read_snapshot_table). */
    SNAPSHOT_TABLE,
    /** Counting the references to every host cluster: header, L1/L2 tables, snapshots, refcount structure, bitmaps. */
    REFERENCES,
    /** Comparing the counted references with the stored refcounts; repairing leaks and corruptions. */
    COMPARE,
    /** Rebuilding the refcount structure from the counted references ({@code -r all} only). */
    REBUILD,
    /** Checking (and repairing) OFLAG_COPIED in the active L1 and L2 tables. */
    OFLAG_COPIED,
    /** Rewriting the snapshot table after repairing its entries ({@code -r all} only). */
    SNAPSHOT_TABLE_REWRITE
}
