package dev.q2.snapshot;

import dev.q2.format.Limits;
import dev.q2.format.SnapshotHeader;
import dev.q2.image.ImageException;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads and writes the snapshot table as qcow2-snapshot.c does (qcow2_read_snapshots, qcow2_write_snapshots).
 * The table's bounds (at most 65536 entries, at most 1 KiB of extra data each) were checked when the image was
 * opened; reading stops past QCOW_MAX_SNAPSHOTS_SIZE all the same.
 */
final class SnapshotTableIO {
    private SnapshotTableIO() {
    }

    /** The entries and the bytes they take (QEMU's snapshots_size: up to the end of the last name). */
    record Table(List<StoredSnapshot> entries, long size) {
    }

    static Table read(ImageFile file, long tableOffset, int nb, long diskSize) throws IOException {
        List<StoredSnapshot> out = new ArrayList<>(Math.min(nb, 1024));
        long offset = tableOffset;
        ByteBuffer h = ByteBuffer.allocate(StoredSnapshot.HEADER_SIZE).order(ByteOrder.BIG_ENDIAN);
        for (int i = 0; i < nb; i++) {
            offset = (offset + 7) & ~7L;
            h.clear();
            file.readZeroFilled(offset, h);
            offset += StoredSnapshot.HEADER_SIZE;
            SnapshotHeader fixed = SnapshotHeader.decode(h);
            long extra = fixed.extraDataSize();
            if (extra > 1024) {
                throw new ImageException("Too much extra metadata in snapshot table entry " + i);
            }
            ByteBuffer x = ByteBuffer.allocate((int) extra).order(ByteOrder.BIG_ENDIAN);
            file.readZeroFilled(offset, x);
            offset += extra;
            long vmState = SnapshotHeader.extraField(x, extra, 0, fixed.vmStateSize());
            long diskSizeField = SnapshotHeader.extraField(x, extra, 1, diskSize);
            long icount = SnapshotHeader.extraField(x, extra, 2, -1);
            byte[] unknown = extra > StoredSnapshot.KNOWN_EXTRA
                    ? Arrays.copyOfRange(x.array(), StoredSnapshot.KNOWN_EXTRA, (int) extra) : new byte[0];
            byte[] id = cString(file, offset, fixed.idSize());
            offset += fixed.idSize();
            byte[] name = cString(file, offset, fixed.nameSize());
            offset += fixed.nameSize();
            if (offset - tableOffset > Limits.MAX_SNAPSHOTS_SIZE) {
                throw new ImageException("Snapshot table is too big");
            }
            out.add(new StoredSnapshot(fixed.l1TableOffset(), fixed.l1Size(), id, name, fixed.dateSec(),
                    fixed.dateNsec(), fixed.vmClockNsec(), vmState, diskSizeField, icount, (int) extra, unknown));
        }
        return new Table(out, nb == 0 ? 0 : offset - tableOffset);
    }

    private static byte[] cString(ImageFile file, long offset, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        file.readZeroFilled(offset, b);
        byte[] a = b.array();
        int len = 0;
        while (len < n && a[len] != 0) {
            len++;
        }
        return len == n ? a : Arrays.copyOf(a, len);
    }

    /** Bytes of the table qcow2_write_snapshots writes for these entries; -1 past QCOW_MAX_SNAPSHOTS_SIZE. */
    static long size(List<StoredSnapshot> entries) {
        long n = 0;
        for (StoredSnapshot e : entries) {
            n = (n + 7) & ~7L;
            n += e.writtenSize();
            if (n > Limits.MAX_SNAPSHOTS_SIZE) {
                return -1;
            }
        }
        return n;
    }

    /** The table as qcow2_write_snapshots lays it out: entries 8-byte aligned, zeros between them. */
    static ByteBuffer encode(List<StoredSnapshot> entries, int size) {
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.BIG_ENDIAN);
        int pos = 0;
        for (StoredSnapshot e : entries) {
            pos = (pos + 7) & ~7;
            new SnapshotHeader(e.l1TableOffset(), e.l1Size(), e.id().length, e.name().length, e.dateSec(),
                    e.dateNsec(), e.vmClockNsec(), e.vmStateSize(), Math.max(StoredSnapshot.KNOWN_EXTRA,
                    e.extraDataSize())).encodeWithKnownExtra(b, pos, e.diskSize(), e.icount());
            pos += StoredSnapshot.HEADER_SIZE + StoredSnapshot.KNOWN_EXTRA;
            b.put(pos, e.unknownExtra());
            pos += e.unknownExtra().length;
            b.put(pos, e.id());
            pos += e.id().length;
            b.put(pos, e.name());
            pos += e.name().length;
        }
        return b;
    }
}
