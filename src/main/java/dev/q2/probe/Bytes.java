package dev.q2.probe;

import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Small helpers for reading fixed-size headers: zero-filled past the end of the file, as QEMU's probe buffer. */
final class Bytes {
    private Bytes() {
    }

    static ByteBuffer read(ImageFile f, long offset, int length, ByteOrder order) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        f.readZeroFilled(offset, b);
        b.clear();
        return b.order(order);
    }

    static boolean startsWith(ByteBuffer buf, int offset, String ascii) {
        byte[] s = ascii.getBytes(StandardCharsets.ISO_8859_1);
        if (offset + s.length > buf.limit()) {
            return false;
        }
        for (int i = 0; i < s.length; i++) {
            if (buf.get(offset + i) != s[i]) {
                return false;
            }
        }
        return true;
    }

    /** A C string of at most {@code max} bytes at {@code offset}: up to the first NUL. */
    static String cString(ByteBuffer buf, int offset, int max) {
        int end = offset;
        while (end < offset + max && end < buf.limit() && buf.get(end) != 0) {
            end++;
        }
        byte[] s = new byte[end - offset];
        buf.get(offset, s);
        return new String(s, StandardCharsets.UTF_8);
    }
}
