package dev.q2.format;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One entry of the snapshot table (spec: "Snapshot table"). Optional extra data fields are -1 when the entry is too
 * short to hold them.
 */
public record SnapshotEntry(
        long l1TableOffset,
        int l1Size,
        String id,
        String name,
        long dateSec,
        long dateNsec,
        long vmClockNsec,
        long vmStateSize,
        long diskSize,
        long icount,
        int extraDataSize) {

    /** Fixed part of an entry before the extra data. */
    public static final int FIXED_SIZE = 40;
    /** QEMU refuses extra data above this size (QCOW_MAX_SNAPSHOT_EXTRA_DATA). */
    public static final int MAX_EXTRA_DATA = 1024;

    /**
     * Decodes one entry at the buffer's position and advances past it and its padding.
     */
    public static SnapshotEntry decode(ByteBuffer in) throws FormatException {
        ByteBuffer b = in.order(ByteOrder.BIG_ENDIAN);
        if (b.remaining() < FIXED_SIZE) {
            throw new FormatException("snapshot table entry is truncated");
        }
        int start = b.position();
        long l1Offset = b.getLong();
        int l1Size = b.getInt();
        int idSize = b.getShort() & 0xffff;
        int nameSize = b.getShort() & 0xffff;
        long dateSec = b.getInt() & 0xffffffffL;
        long dateNsec = b.getInt() & 0xffffffffL;
        long vmClock = b.getLong();
        long vmState = b.getInt() & 0xffffffffL;
        int extra = b.getInt();
        if (extra < 0 || extra > MAX_EXTRA_DATA) {
            throw new FormatException("snapshot table entry: extra_data_size " + Integer.toUnsignedLong(extra)
                    + " is above the " + MAX_EXTRA_DATA + " bytes allowed");
        }
        if (b.remaining() < extra + idSize + nameSize) {
            throw new FormatException("snapshot table entry runs past the end of the snapshot table");
        }
        int extraStart = b.position();
        long diskSize = -1;
        long icount = -1;
        if (extra >= 8) {
            vmState = b.getLong(extraStart);
        }
        if (extra >= 16) {
            diskSize = b.getLong(extraStart + 8);
        }
        if (extra >= 24) {
            icount = b.getLong(extraStart + 16);
        }
        b.position(extraStart + extra);
        byte[] id = new byte[idSize];
        b.get(id);
        byte[] name = new byte[nameSize];
        b.get(name);
        int len = b.position() - start;
        int pad = ((len + 7) & ~7) - len;
        b.position(Math.min(b.limit(), b.position() + pad));
        return new SnapshotEntry(l1Offset, l1Size, CStrings.decode(id),
                CStrings.decode(name), dateSec, dateNsec, vmClock, vmState, diskSize, icount,
                extra);
    }
}
