package dev.q2.probe;

import dev.q2.image.ImageException;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/** QED: a little-endian header, an optional backing file name stored in the header cluster. */
final class QedHeader {
    static final int MAGIC = 'Q' | 'E' << 8 | 'D' << 16;
    static final long F_BACKING_FILE = 1;
    static final long F_BACKING_FORMAT_NO_PROBE = 4;

    private QedHeader() {
    }

    /** bdrv_qed_probe: the little-endian magic "QED\0". */
    static int probe(ByteBuffer buf) {
        return buf.duplicate().order(ByteOrder.LITTLE_ENDIAN).getInt(0) == MAGIC ? 100 : 0;
    }

    /**
     * magic u32, cluster_size u32, table_size u32, header_size u32, features u64, compat_features u64,
     * autoclear_features u64, l1_table_offset u64, image_size u64, backing_filename_offset u32,
     * backing_filename_size u32.
     */
    static ForeignHeader read(ImageFile f) throws IOException {
        ByteBuffer b = Bytes.read(f, 0, 64, ByteOrder.LITTLE_ENDIAN);
        long clusterSize = Integer.toUnsignedLong(b.getInt(4));
        long features = b.getLong(16);
        long imageSize = b.getLong(48);
        if (imageSize < 0) {
            throw new ImageException("Image size too large");
        }
        String backing = null;
        String backingFormat = null;
        if ((features & F_BACKING_FILE) != 0) {
            long off = Integer.toUnsignedLong(b.getInt(56));
            long len = Integer.toUnsignedLong(b.getInt(60));
            if (len > 1023) { // bs->auto_backing_file holds 1024 bytes with the NUL
                throw new ImageException("Backing file name too long");
            }
            backing = Bytes.cString(Bytes.read(f, off, (int) len, ByteOrder.LITTLE_ENDIAN), 0, (int) len);
            if ((features & F_BACKING_FORMAT_NO_PROBE) != 0) {
                backingFormat = "raw";
            }
        }
        return new ForeignHeader("qed", imageSize, clusterSize, backing, backingFormat, List.of());
    }
}
