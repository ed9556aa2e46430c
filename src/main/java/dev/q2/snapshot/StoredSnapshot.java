package dev.q2.snapshot;

import java.nio.charset.StandardCharsets;

/**
 * One snapshot table entry as QEMU keeps it in memory (QCowSnapshot): the fixed fields, the known extra data
 * (vm_state_size_large, disk_size, icount), the extra data QEMU does not know (kept, to be written back), and the id
 * and name as bytes up to their first NUL (QEMU treats them as C strings).
 */
record StoredSnapshot(long l1TableOffset, int l1Size, byte[] id, byte[] name, long dateSec, long dateNsec,
                      long vmClockNsec, long vmStateSize, long diskSize, long icount, int extraDataSize,
                      byte[] unknownExtra) {
    /** sizeof(QCowSnapshotHeader). */
    static final int HEADER_SIZE = dev.q2.format.SnapshotHeader.SIZE;
    /** sizeof(QCowSnapshotExtraData) in QEMU 7.2. */
    static final int KNOWN_EXTRA = dev.q2.format.SnapshotHeader.KNOWN_EXTRA;

    String idString() {
        return new String(id, StandardCharsets.UTF_8);
    }

    String nameString() {
        return new String(name, StandardCharsets.UTF_8);
    }

    /** Bytes this entry takes when QEMU writes it (without the alignment before it). */
    long writtenSize() {
        return HEADER_SIZE + Math.max(KNOWN_EXTRA, extraDataSize) + id.length + name.length;
    }
}
