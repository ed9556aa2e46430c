package dev.q2.probe;

import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** A raw LUKS1 volume (QEMU's "luks" driver): the guest disk is what follows the payload offset. */
final class LuksProbe {
    private LuksProbe() {
    }

    /** block_crypto_probe_luks: the magic "LUKS\xba\xbe" and version 1. */
    static int probe(ByteBuffer buf) {
        ByteBuffer b = buf.duplicate().order(ByteOrder.BIG_ENDIAN);
        return Bytes.startsWith(b, 0, "LUKS\u00ba\u00be") && b.getShort(6) == 1 ? 100 : 0;
    }

    /** payload_offset (sectors, u32 at 104): the virtual size is the file's size past it. */
    static ForeignHeader read(ImageFile f) throws IOException {
        ByteBuffer b = Bytes.read(f, 0, 108, ByteOrder.BIG_ENDIAN);
        long payload = Integer.toUnsignedLong(b.getInt(104)) * 512;
        return ForeignHeader.of("luks", Math.max(0, f.size() - payload), null);
    }
}
