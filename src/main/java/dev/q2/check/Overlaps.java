package dev.q2.check;

import java.io.IOException;

import dev.q2.format.BitmapsExtension;
import dev.q2.format.QcowHeader;
import dev.q2.format.SnapshotEntry;
import dev.q2.image.Qcow2Metadata;

/**
 * QEMU's metadata overlap check (qcow2_check_metadata_overlap, in its default "cached" mode that skips inactive L2
 * tables): names the metadata a write to [offset, offset + size) would overwrite, or null.
 */
final class Overlaps {
    static final int MAIN_HEADER = 1;
    static final int ACTIVE_L1 = 1 << 1;
    static final int ACTIVE_L2 = 1 << 2;
    static final int REFCOUNT_TABLE = 1 << 3;
    static final int REFCOUNT_BLOCK = 1 << 4;
    static final int SNAPSHOT_TABLE = 1 << 5;
    static final int INACTIVE_L1 = 1 << 6;
    static final int INACTIVE_L2 = 1 << 7;
    static final int BITMAP_DIRECTORY = 1 << 8;
    private static final int CACHED = 0x1ff & ~INACTIVE_L2;

    private final Qcow2Metadata image;
    private final QcowHeader header;
    private final long[] l1;
    private final long reftableOffset;
    private final long[] reftable;
    private final long cs;

    Overlaps(Qcow2Metadata image, QcowHeader header, long[] l1, long reftableOffset, long[] reftable, long cs) {
        this.image = image;
        this.header = header;
        this.l1 = l1;
        this.reftableOffset = reftableOffset;
        this.reftable = reftable;
        this.cs = cs;
    }

    String check(int ignore, long offset, long size) throws IOException {
        int chk = CACHED & ~ignore;
        if (size == 0) {
            return null;
        }
        if ((chk & MAIN_HEADER) != 0 && offset < cs) {
            return "qcow2_header";
        }
        long start = offset & ~(cs - 1);
        long len = (((offset & (cs - 1)) + size + cs - 1) / cs) * cs;
        if ((chk & ACTIVE_L1) != 0 && header.l1Size() != 0
                && overlaps(start, len, header.l1TableOffset(), Integer.toUnsignedLong(header.l1Size()) * 8)) {
            return "active L1 table";
        }
        if ((chk & REFCOUNT_TABLE) != 0 && reftable.length != 0
                && overlaps(start, len, reftableOffset, reftable.length * 8L)) {
            return "refcount table";
        }
        if ((chk & SNAPSHOT_TABLE) != 0 && image.snapshotTableSize() != 0
                && overlaps(start, len, header.snapshotsOffset(), image.snapshotTableSize())) {
            return "snapshot table";
        }
        if ((chk & INACTIVE_L1) != 0) {
            for (SnapshotEntry s : image.snapshots()) {
                if (s.l1Size() != 0 && overlaps(start, len, s.l1TableOffset(), Integer.toUnsignedLong(s.l1Size()) * 8)) {
                    return "inactive L1 table";
                }
            }
        }
        if ((chk & ACTIVE_L2) != 0) {
            for (long e : l1) {
                long o = e & CheckContext.L1E_OFFSET_MASK;
                if (o != 0 && overlaps(start, len, o, cs)) {
                    return "active L2 table";
                }
            }
        }
        if ((chk & REFCOUNT_BLOCK) != 0) {
            for (long e : reftable) {
                long o = e & StoredRefcounts.REFT_OFFSET_MASK;
                if (o != 0 && overlaps(start, len, o, cs)) {
                    return "refcount block";
                }
            }
        }
        if ((chk & BITMAP_DIRECTORY) != 0) {
            BitmapsExtension b = image.bitmapsExtension();
            if (b != null && overlaps(start, len, b.bitmapDirectoryOffset(), b.bitmapDirectorySize())) {
                return "bitmap directory";
            }
        }
        return null;
    }

    private static boolean overlaps(long a, long alen, long b, long blen) {
        return alen > 0 && blen > 0 && a < b + blen && b < a + alen;
    }
}
