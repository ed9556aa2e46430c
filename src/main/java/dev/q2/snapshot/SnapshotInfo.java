package dev.q2.snapshot;

/**
 * A snapshot as QEMU lists it (QEMUSnapshotInfo): id and name (cut to 127 and 255 bytes, as QEMU copies them),
 * VM state size, date (seconds and nanoseconds since the epoch), VM clock in nanoseconds, and the instruction count
 * (-1 when the entry has none).
 */
public record SnapshotInfo(String id, String name, long vmStateSize, long dateSec, long dateNsec, long vmClockNsec,
                           long icount) {
}
