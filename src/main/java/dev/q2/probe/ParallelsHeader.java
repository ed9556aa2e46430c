package dev.q2.probe;

import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Parallels: a 16-byte magic (two spellings), little-endian fields. */
final class ParallelsHeader {
    static final String MAGIC = "WithoutFreeSpace";
    static final String MAGIC2 = "WithouFreSpacExt";
    static final int VERSION = 2;
    static final int SIZE = 64; // sizeof(ParallelsHeader)

    private ParallelsHeader() {
    }

    /** parallels_probe: either magic, and version 2. */
    static int probe(ByteBuffer buf) {
        if (buf.limit() < SIZE) {
            return 0;
        }
        boolean magic = Bytes.startsWith(buf, 0, MAGIC) || Bytes.startsWith(buf, 0, MAGIC2);
        return magic && buf.duplicate().order(ByteOrder.LITTLE_ENDIAN).getInt(16) == VERSION ? 100 : 0;
    }

    /** nb_sectors u64 at 0x24; the old magic keeps only its low 32 bits (parallels_open). */
    static ForeignHeader read(ImageFile f) throws IOException {
        ByteBuffer b = Bytes.read(f, 0, SIZE, ByteOrder.LITTLE_ENDIAN);
        long sectors = b.getLong(0x24);
        if (Bytes.startsWith(b, 0, MAGIC)) {
            sectors &= 0xffffffffL;
        }
        if (sectors < 0 || sectors > Long.MAX_VALUE / 512) {
            throw new dev.q2.image.ImageException("Image size is too large");
        }
        return ForeignHeader.of("parallels", sectors * 512, null);
    }
}
