package dev.q2.probe;

import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** VirtualBox VDI: a 64-byte text, then a little-endian header. */
final class VdiHeader {
    static final int SIGNATURE = 0xbeda107f;
    static final int HEADER_SIZE = 512; // sizeof(VdiHeader): vdi_probe needs a buffer at least this long

    private VdiHeader() {
    }

    /** vdi_probe: the signature at 0x40. */
    static int probe(ByteBuffer buf) {
        return buf.limit() >= HEADER_SIZE && buf.duplicate().order(ByteOrder.LITTLE_ENDIAN).getInt(0x40) == SIGNATURE
                ? 100 : 0;
    }

    /** disk_size u64 at 0x170, block_size u32 at 0x178. */
    static ForeignHeader read(ImageFile f) throws IOException {
        ByteBuffer b = Bytes.read(f, 0, HEADER_SIZE, ByteOrder.LITTLE_ENDIAN);
        long diskSize = b.getLong(0x170);
        long blockSize = Integer.toUnsignedLong(b.getInt(0x178));
        return ForeignHeader.of("vdi", diskSize, blockSize);
    }
}
