package dev.q2.probe;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Formats qemu-img 7.2 probes but whose headers q2 does not parse (qemu-img cannot create them): q2 names them,
 * and refuses them by name, rather than taking them for raw.
 */
final class OtherProbes {
    private static final String CLOOP_V2 =
            "#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n";

    private OtherProbes() {
    }

    /** dmg_probe: only the file name: one ending in ".dmg" (longer than those four characters) scores 2. */
    static int dmg(String filename) {
        return filename != null && filename.length() > 4 && filename.endsWith(".dmg") ? 2 : 0;
    }

    /** cloop_probe: the version 2.0 shell preamble scores 2. */
    static int cloop(ByteBuffer buf) {
        return Bytes.startsWith(buf, 0, CLOOP_V2) ? 2 : 0;
    }

    /** bochs_probe: magic, type "Redolog", subtype "Growing", version 1 or 2 (u32 at 64). */
    static int bochs(ByteBuffer buf) {
        if (buf.limit() < 512) {
            return 0;
        }
        int version = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN).getInt(64);
        return cstrEquals(buf, 0, 32, "Bochs Virtual HD Image") && cstrEquals(buf, 32, 16, "Redolog")
                && cstrEquals(buf, 48, 16, "Growing") && (version == 0x00020000 || version == 0x00010000) ? 100 : 0;
    }

    private static boolean cstrEquals(ByteBuffer b, int offset, int max, String s) {
        return Bytes.cString(b, offset, max).equals(s);
    }
}
