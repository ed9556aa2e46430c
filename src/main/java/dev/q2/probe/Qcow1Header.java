package dev.q2.probe;

import dev.q2.image.ImageException;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/** QEMU's original qcow format (version 1): big-endian, the same magic as qcow2. */
final class Qcow1Header {
    static final int MAGIC = 0x514649fb; // "QFI\xfb"

    private Qcow1Header() {
    }

    /** qcow_probe: the magic and version exactly 1 (qcow2 takes 2 and up). */
    static int probe(ByteBuffer buf) {
        ByteBuffer b = buf.duplicate().order(ByteOrder.BIG_ENDIAN);
        return b.getInt(0) == MAGIC && b.getInt(4) == 1 ? 100 : 0;
    }

    /**
     * magic u32, version u32, backing_file_offset u64, backing_file_size u32, mtime u32, size u64, cluster_bits u8,
     * l2_bits u8, padding u16, crypt_method u32, l1_table_offset u64.
     */
    static ForeignHeader read(ImageFile f) throws IOException {
        ByteBuffer b = Bytes.read(f, 0, 48, ByteOrder.BIG_ENDIAN);
        long size = b.getLong(24);
        int clusterBits = b.get(32) & 0xff;
        int l2Bits = b.get(33) & 0xff;
        // qcow_open's checks, in its order, so that a damaged header is refused as qemu-img refuses it
        if (size < 0) { // the size is stored unsigned; anything past INT64_MAX is no disk
            throw new ImageException("Image too large");
        }
        if (clusterBits < 9 || clusterBits > 16) {
            throw new ImageException("Cluster size must be between 512 and 64k");
        }
        if (l2Bits < 9 - 3 || l2Bits > 16 - 3) {
            throw new ImageException("L2 table size must be between 512 and 64k");
        }
        String backing = null;
        long bOffset = b.getLong(8);
        int bSize = b.getInt(16);
        if (bOffset != 0) {
            if (bSize < 0 || bSize > 1023) { // sizeof(bs->auto_backing_file) - 1
                throw new ImageException("Backing file name too long");
            }
            ByteBuffer name = Bytes.read(f, bOffset, bSize, ByteOrder.BIG_ENDIAN);
            backing = Bytes.cString(name, 0, bSize);
        }
        return new ForeignHeader("qcow", size, 1L << clusterBits, backing, null, List.of());
    }
}
