package dev.q2.snapshot;

import java.nio.ByteBuffer;

/** Test helper: an image's bytes with the date fields (date_sec, date_nsec) of its snapshot table zeroed. */
final class SnapshotFiles {
    private SnapshotFiles() {
    }

    static byte[] maskDates(byte[] image) {
        byte[] d = image.clone();
        ByteBuffer b = ByteBuffer.wrap(d);
        int nb = b.getInt(60);
        long off = b.getLong(64);
        for (int i = 0; i < nb; i++) {
            off = (off + 7) & ~7L;
            int p = (int) off;
            int idSize = b.getShort(p + 12) & 0xffff;
            int nameSize = b.getShort(p + 14) & 0xffff;
            int extra = b.getInt(p + 36);
            for (int k = 16; k < 24; k++) {
                d[p + k] = 0;
            }
            off += 40 + extra + idSize + nameSize;
        }
        return d;
    }
}
