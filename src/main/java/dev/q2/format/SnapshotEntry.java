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
    public static final int FIXED_SIZE = SnapshotHeader.SIZE;
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
        SnapshotHeader fixed = SnapshotHeader.decode(b.slice(start, FIXED_SIZE));
        long extra = fixed.extraDataSize();
        int idSize = fixed.idSize();
        int nameSize = fixed.nameSize();
        b.position(start + FIXED_SIZE);
        if (extra > MAX_EXTRA_DATA) {
            throw new FormatException("snapshot table entry: extra_data_size " + extra
                    + " is above the " + MAX_EXTRA_DATA + " bytes allowed");
        }
        if (b.remaining() < extra + idSize + nameSize) {
            throw new FormatException("snapshot table entry runs past the end of the snapshot table");
        }
        ByteBuffer x = b.slice(b.position(), (int) extra);
        long vmState = SnapshotHeader.extraField(x, extra, 0, fixed.vmStateSize());
        long diskSize = SnapshotHeader.extraField(x, extra, 1, -1);
        long icount = SnapshotHeader.extraField(x, extra, 2, -1);
        b.position(b.position() + (int) extra);
        byte[] id = new byte[idSize];
        b.get(id);
        byte[] name = new byte[nameSize];
        b.get(name);
        int len = b.position() - start;
        int pad = ((len + 7) & ~7) - len;
        b.position(Math.min(b.limit(), b.position() + pad));
        return new SnapshotEntry(fixed.l1TableOffset(), fixed.l1Size(), CStrings.decode(id),
                CStrings.decode(name), fixed.dateSec(), fixed.dateNsec(), fixed.vmClockNsec(), vmState, diskSize,
                icount, (int) extra);
    }
}
