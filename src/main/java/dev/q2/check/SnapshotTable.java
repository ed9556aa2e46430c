package dev.q2.check;

import dev.q2.check.CheckMessage.Severity;
import dev.q2.format.QcowHeader;
import dev.q2.format.SnapshotEntry;
import dev.q2.format.SnapshotHeader;
import dev.q2.format.Limits;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The snapshot table as qemu-img check reads it (qcow2_check_read_snapshot_table and qcow2_do_read_snapshots): the
 * image is opened without reading it, and the check reads it first, tolerating what QEMU tolerates there (entries
 * past the end of the file read as zeros) and reporting to the listener in QEMU's words what makes it unreadable
 * (too many snapshots, a table past 64 MiB, more than 1 KiB of extra data in an entry) and which v3 entries are
 * incomplete (less than 16 bytes of extra data).
 *
 * <p>Memory is bounded by QEMU's own limits, not by the header's claims: at most 65536 entries are read, and the
 * reading stops once the table passes QCOW_MAX_SNAPSHOTS_SIZE (64 MiB); the file is read through a 1 MiB window.
 */
final class SnapshotTable {
    static final int HEADER_SIZE = SnapshotHeader.SIZE;
    static final int KNOWN_EXTRA = SnapshotHeader.KNOWN_EXTRA;
    private static final int WINDOW = 1 << 20;

    final List<SnapshotEntry> entries = new ArrayList<>();
    /** Each entry's extra data as stored (at most 1024 bytes), for rewriting the table. */
    final List<byte[]> extraData = new ArrayList<>();
    long size;
    /** Snapshots dropped off the end (too many, or a table that is too big): repaired in the header right away. */
    long reduced;
    /** Entries whose extra data was cut to 1024 bytes: the table must be rewritten. */
    long extraDropped;

    private final ImageFile file;
    /** A read of the table at an offset QEMU's block layer refuses (bit 63 set, or past BDRV_MAX_LENGTH). */
    private static final class Unreadable extends IOException {
        Unreadable() {
            super("Input/output error");
        }
    }

    private final CheckListener listener;
    private ByteBuffer window;
    private long windowStart = -1;

    private SnapshotTable(ImageFile file, CheckListener listener) {
        this.file = file;
        this.listener = listener;
    }

    private void report(Severity severity, String text) {
        listener.message(new CheckMessage(severity, false, text));
    }

    private void errorReport(String text) {
        listener.message(new CheckMessage(Severity.CHECK_ERROR, true, text));
    }

    /**
     * Reads the table for a check pass; counts into {@code res} what QEMU counts into its snapshot check result.
     * Throws (after counting a check error) when QEMU's check fails.
     */
    static SnapshotTable read(ImageFile file, QcowHeader header, CheckMode mode, CheckListener listener,
                              CheckCounts res)
            throws IOException, CheckFailedException {
        SnapshotTable t = new SnapshotTable(file, listener);
        boolean repair = mode.fixErrors();
        long nb = Integer.toUnsignedLong(header.nbSnapshots());
        long offset = header.snapshotsOffset();
        if (nb > Limits.MAX_SNAPSHOTS && repair) {
            t.report(Severity.REPAIR, "Discarding " + (nb - Limits.MAX_SNAPSHOTS) + " overhanging snapshots");
            t.reduced += nb - Limits.MAX_SNAPSHOTS;
            nb = Limits.MAX_SNAPSHOTS;
        }
        // qcow2_validate_table(offset, nb, 40, 40 * QCOW_MAX_SNAPSHOTS, "snapshot table")
        String invalid = null;
        String errno = null;
        if (nb > Limits.MAX_SNAPSHOTS) {
            invalid = "snapshot table too large";
            errno = "File too large";
        } else if (Long.MAX_VALUE - nb * HEADER_SIZE < offset || offset < 0
                || (offset & (header.clusterSize() - 1)) != 0) {
            invalid = "snapshot table offset invalid";
            errno = "Invalid argument";
        }
        if (invalid != null) {
            res.checkErrors++;
            t.errorReport("ERROR " + invalid);
            if (nb > Limits.MAX_SNAPSHOTS) {
                t.report(Severity.CHECK_ERROR, "You can force-remove all " + (nb - Limits.MAX_SNAPSHOTS)
                        + " overhanging snapshots with qemu-img check -r all");
            }
            throw new CheckFailedException(errno);
        }
        try {
            t.readEntries((int) nb, offset, repair, res);
        } catch (Unreadable e) {
            res.checkErrors++;
            t.errorReport("ERROR failed to read the snapshot table: Failed to read snapshot table: Input/output"
                    + " error");
            throw new CheckFailedException("Input/output error");
        }
        res.corruptions += t.reduced + t.extraDropped;
        if (t.reduced != 0) {
            // As QEMU: the header's count is lowered right away, so that the refcount check that follows sees
            // the same table as the header; the snapshots dropped leak clusters that the refcount check frees.
            try {
                file.writeFully(60, ByteBuffer.allocate(4).putInt(0, t.entries.size()));
                file.flush();
            } catch (IOException e) {
                res.checkErrors++;
                t.report(Severity.CHECK_ERROR, "ERROR failed to update the snapshot count in the image header: "
                        + e.getMessage());
                throw new CheckFailedException("Input/output error");
            }
            res.corruptionsFixed += t.reduced;
            res.corruptions -= t.reduced;
        }
        if (header.version() >= 3) {
            for (int i = 0; i < t.entries.size(); i++) {
                if (t.entries.get(i).extraDataSize() < 16) {
                    res.corruptions++;
                    t.report(repair ? Severity.REPAIR : Severity.CORRUPTION,
                            (repair ? "Repairing" : "ERROR") + " snapshot table entry " + i + " is incomplete");
                }
            }
        }
        return t;
    }

    private void readEntries(int nb, long tableOffset, boolean repair, CheckCounts res)
            throws IOException, CheckFailedException {
        long offset = tableOffset;
        long tableLength = 0;
        for (int i = 0; i < nb; i++) {
            long preOffset = offset;
            tableLength = (tableLength + 7) & ~7L;
            offset = (offset + 7) & ~7L;
            ByteBuffer h = bytes(offset, HEADER_SIZE);
            offset += HEADER_SIZE;
            SnapshotHeader fixed = SnapshotHeader.decode(h);
            int idSize = fixed.idSize();
            int nameSize = fixed.nameSize();
            long extra = fixed.extraDataSize();
            boolean truncate = false;
            if (extra > SnapshotEntry.MAX_EXTRA_DATA) {
                if (!repair) {
                    res.checkErrors++;
                    errorReport("ERROR failed to read the snapshot table: Too much extra"
                            + " metadata in snapshot table entry " + i);
                    report(Severity.CHECK_ERROR, "You can force-remove this extra metadata with qemu-img check -r all");
                    throw new CheckFailedException("File too large");
                }
                report(Severity.REPAIR, "Discarding too much extra metadata in snapshot table entry " + i + " ("
                        + extra + " > " + SnapshotEntry.MAX_EXTRA_DATA + ")");
                extraDropped++;
                truncate = true;
            }
            long extraEnd = offset + extra;
            int kept = (int) Math.min(extra, SnapshotEntry.MAX_EXTRA_DATA);
            if (truncate) {
                extra = SnapshotEntry.MAX_EXTRA_DATA;
            }
            byte[] extraBytes = new byte[kept];
            bytes(offset, kept).get(0, extraBytes);
            ByteBuffer x = ByteBuffer.wrap(extraBytes).order(ByteOrder.BIG_ENDIAN);
            long vmState = SnapshotHeader.extraField(x, extra, 0, fixed.vmStateSize());
            long diskSize = SnapshotHeader.extraField(x, extra, 1, -1);
            long icount = SnapshotHeader.extraField(x, extra, 2, -1);
            offset = extraEnd;
            String id = cString(bytes(offset, idSize), idSize);
            offset += idSize;
            String name = cString(bytes(offset, nameSize), nameSize);
            offset += nameSize;
            tableLength += HEADER_SIZE + extra + idSize + nameSize;
            if (tableLength > Limits.MAX_SNAPSHOTS_SIZE || offset - tableOffset > Integer.MAX_VALUE) {
                if (!repair) {
                    res.checkErrors++;
                    errorReport("ERROR failed to read the snapshot table: Snapshot table is too big");
                    report(Severity.CHECK_ERROR, "You can force-remove all " + (Integer.toUnsignedLong(nb) - i)
                            + " overhanging snapshots with qemu-img check -r all");
                    throw new CheckFailedException("File too large");
                }
                report(Severity.REPAIR, "Discarding " + (nb - i) + " overhanging snapshots (snapshot table is too"
                        + " big)");
                reduced += nb - i;
                offset = preOffset;
                break;
            }
            entries.add(new SnapshotEntry(fixed.l1TableOffset(), fixed.l1Size(), id, name, fixed.dateSec(),
                    fixed.dateNsec(), fixed.vmClockNsec(), vmState, diskSize, icount, (int) extra));
            extraData.add(extraBytes);
        }
        size = offset - tableOffset;
    }

    /** Bytes of the table as qcow2_write_snapshots lays it out (every entry with at least 24 bytes of extra data). */
    long newSize() {
        long n = 0;
        for (int i = 0; i < entries.size(); i++) {
            SnapshotEntry e = entries.get(i);
            n = (n + 7) & ~7L;
            n += HEADER_SIZE + Math.max(KNOWN_EXTRA, e.extraDataSize()) + utf8(e.id()).length
                    + utf8(e.name()).length;
        }
        return n;
    }

    /**
     * The table as qcow2_write_snapshots writes it: the fixed header of each entry, the known extra data from the
     * parsed values (a missing disk size is the image's virtual size, as QEMU fills it in when it reads the entry),
     * the unknown extra data as read, id and name; entries start 8-byte aligned.
     */
    ByteBuffer encode(long virtualSize) {
        ByteBuffer b = ByteBuffer.allocate((int) newSize()).order(ByteOrder.BIG_ENDIAN);
        int pos = 0;
        for (int i = 0; i < entries.size(); i++) {
            SnapshotEntry e = entries.get(i);
            byte[] id = utf8(e.id());
            byte[] name = utf8(e.name());
            int extra = Math.max(KNOWN_EXTRA, e.extraDataSize());
            pos = (pos + 7) & ~7;
            new SnapshotHeader(e.l1TableOffset(), e.l1Size(), id.length, name.length, e.dateSec(), e.dateNsec(),
                    e.vmClockNsec(), e.vmStateSize(), extra).encodeWithKnownExtra(b, pos,
                    e.extraDataSize() < 16 ? virtualSize : e.diskSize(), e.icount());
            pos += HEADER_SIZE;
            byte[] stored = extraData.get(i);
            if (stored.length > KNOWN_EXTRA) {
                b.put(pos + KNOWN_EXTRA, stored, KNOWN_EXTRA, stored.length - KNOWN_EXTRA);
            }
            pos += extra;
            b.put(pos, id);
            pos += id.length;
            b.put(pos, name);
            pos += name.length;
        }
        return b.clear();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** n bytes at pos (zeros past the end of the file), valid until the next call. */
    private ByteBuffer bytes(long pos, int n) throws IOException {
        if (n > 0 && StoredRefcounts.outsideBlockLayer(pos, n)) {
            throw new Unreadable(); // the block layer refuses the read (-EIO)
        }
        if (n > WINDOW / 2) {
            ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.BIG_ENDIAN);
            file.readZeroFilled(pos, b);
            return b.clear();
        }
        if (windowStart < 0 || pos < windowStart || pos + n > windowStart + WINDOW) {
            if (window == null) {
                window = ByteBuffer.allocate(WINDOW).order(ByteOrder.BIG_ENDIAN);
            }
            window.clear();
            file.readZeroFilled(pos, window);
            windowStart = pos;
        }
        return window.duplicate().order(ByteOrder.BIG_ENDIAN).position((int) (pos - windowStart))
                .limit((int) (pos - windowStart) + n).slice().order(ByteOrder.BIG_ENDIAN);
    }

    /** A string as QEMU prints it with %s: cut at the first NUL. */
    private static String cString(ByteBuffer b, int n) {
        byte[] a = new byte[n];
        b.get(0, a);
        int len = 0;
        while (len < n && a[len] != 0) {
            len++;
        }
        return new String(a, 0, len, StandardCharsets.UTF_8);
    }
}
