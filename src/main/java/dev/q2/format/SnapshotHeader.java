package dev.q2.format;

import java.nio.ByteBuffer;

/**
 * The fixed part of a snapshot table entry (spec: "Snapshot table"; QEMU's QCowSnapshotHeader) and the extra data
 * QEMU 7.2 knows (QCowSnapshotExtraData: vm_state_size_large, disk_size, icount): the one reader and writer of those
 * bytes, for the image's metadata, check and the snapshot command. Big-endian, read and written at absolute
 * positions so that callers keep their own way of walking the table (padding, limits, repairs).
 *
 * @param l1TableOffset l1_table_offset
 * @param l1Size l1_size
 * @param idSize id_str_size
 * @param nameSize name_size
 * @param dateSec date_sec (unsigned)
 * @param dateNsec date_nsec (unsigned)
 * @param vmClockNsec vm_clock_nsec
 * @param vmStateSize vm_state_size: as decoded, the 32-bit field; to encode, the full size (written in the 32-bit
 *                    field only when it fits, and always as vm_state_size_large)
 * @param extraDataSize extra_data_size (unsigned)
 */
public record SnapshotHeader(long l1TableOffset, int l1Size, int idSize, int nameSize, long dateSec, long dateNsec,
                             long vmClockNsec, long vmStateSize, long extraDataSize) {
    /** sizeof(QCowSnapshotHeader). */
    public static final int SIZE = 40;
    /** sizeof(QCowSnapshotExtraData) in QEMU 7.2: vm_state_size_large, disk_size, icount. */
    public static final int KNOWN_EXTRA = 24;

    /**
     * Decodes the 40 bytes at the start of {@code h} (absolute reads; the position is not used or moved).
     *
     * @param h at least 40 bytes, big-endian
     * @return the fixed fields
     */
    public static SnapshotHeader decode(ByteBuffer h) {
        return new SnapshotHeader(h.getLong(0), h.getInt(8), h.getShort(12) & 0xffff, h.getShort(14) & 0xffff,
                Integer.toUnsignedLong(h.getInt(16)), Integer.toUnsignedLong(h.getInt(20)), h.getLong(24),
                Integer.toUnsignedLong(h.getInt(32)), Integer.toUnsignedLong(h.getInt(36)));
    }

    /**
     * One 64-bit field of the known extra data, or {@code absent} when the extra data is too short to hold it.
     *
     * @param extra the extra data from its first byte, big-endian
     * @param extraSize how many bytes of extra data the entry has
     * @param index 0 for vm_state_size_large, 1 for disk_size, 2 for icount
     * @param absent the value when the field is not there
     * @return the field's value or {@code absent}
     */
    public static long extraField(ByteBuffer extra, long extraSize, int index, long absent) {
        return extraSize >= 8L * (index + 1) ? extra.getLong(8 * index) : absent;
    }

    /**
     * Writes the fixed fields at {@code pos}, then the known extra data (qcow2_write_snapshots): 64 bytes. A VM state
     * that does not fit 32 bits is 0 in the fixed part, so that older readers see a disk-only snapshot.
     *
     * @param b the table being written, big-endian
     * @param pos where the entry starts
     * @param diskSize disk_size for the extra data
     * @param icount icount for the extra data
     */
    public void encodeWithKnownExtra(ByteBuffer b, int pos, long diskSize, long icount) {
        b.putLong(pos, l1TableOffset);
        b.putInt(pos + 8, l1Size);
        b.putShort(pos + 12, (short) idSize);
        b.putShort(pos + 14, (short) nameSize);
        b.putInt(pos + 16, (int) dateSec);
        b.putInt(pos + 20, (int) dateNsec);
        b.putLong(pos + 24, vmClockNsec);
        b.putInt(pos + 32, Long.compareUnsigned(vmStateSize, 0xffffffffL) <= 0 ? (int) vmStateSize : 0);
        b.putInt(pos + 36, (int) extraDataSize);
        b.putLong(pos + SIZE, vmStateSize);
        b.putLong(pos + SIZE + 8, diskSize);
        b.putLong(pos + SIZE + 16, icount);
    }
}
