package dev.q2.probe;

import dev.q2.image.ImageException;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Set;

/**
 * Virtual PC / VHD ("vpc"): a big-endian 512-byte footer. A dynamic disk keeps a copy of it at offset 0, which is
 * what the probe sees; a fixed disk has it only at the end, so qemu-img probes a fixed VHD as raw.
 */
final class VpcFooter {
    private static final Set<String> CURRENT_SIZE_CREATORS = Set.of("win ", "qem2", "d2v ", "CTXS", "tap\0");
    private static final long MAX_GEOMETRY_SECTORS = 65535L * 16 * 255;

    private VpcFooter() {
    }

    /** vpc_probe: "conectix" at offset 0. */
    static int probe(ByteBuffer buf) {
        return Bytes.startsWith(buf, 0, "conectix") ? 100 : 0;
    }

    /**
     * vpc_open (7.2): the size is the CHS geometry (cyls u16 at 56, heads u8 at 58, secs u8 at 59) unless the
     * creator app (4 bytes at 28) is one known to write current_size (u64 at 48) instead, or the geometry is the
     * largest possible, which means the disk is probably bigger.
     */
    static ForeignHeader read(ImageFile f) throws IOException {
        ByteBuffer b = Bytes.read(f, 0, 512, ByteOrder.BIG_ENDIAN);
        if (!Bytes.startsWith(b, 0, "conectix")) {
            // a fixed disk: the footer is the file's last 512 bytes (reached only with -f vpc: it probes as raw)
            b = Bytes.read(f, Math.max(0, f.size() - 512), 512, ByteOrder.BIG_ENDIAN);
            if (!Bytes.startsWith(b, 0, "conectix")) {
                throw new ImageException("invalid VPC image");
            }
        }
        long chs = (long) (b.getShort(56) & 0xffff) * (b.get(58) & 0xff) * (b.get(59) & 0xff);
        String creator = new String(new byte[] {b.get(28), b.get(29), b.get(30), b.get(31)},
                java.nio.charset.StandardCharsets.ISO_8859_1);
        long sectors = chs;
        long currentSectors = b.getLong(48) / 512;
        if (CURRENT_SIZE_CREATORS.contains(creator) || chs == MAX_GEOMETRY_SECTORS) {
            sectors = currentSectors;
        }
        Long blockSize = null;
        long dataOffset = b.getLong(16);
        if (dataOffset > 0 && dataOffset != -1L) {
            // the dynamic disk header ("cxsparse"): block_size u32 at 32
            ByteBuffer d = Bytes.read(f, dataOffset, 40, ByteOrder.BIG_ENDIAN);
            if (Bytes.startsWith(d, 0, "cxsparse")) {
                blockSize = Integer.toUnsignedLong(d.getInt(32));
            }
        }
        return ForeignHeader.of("vpc", sectors * 512, blockSize);
    }
}
