package dev.q2.format;

import java.nio.charset.StandardCharsets;

/**
 * Strings stored in the image header (backing file name, backing format, external data file name) and in snapshot
 * entries (id, name) are C strings to QEMU: it reads the stored bytes and then uses them up to the first NUL byte.
 */
public final class CStrings {
    private CStrings() {
    }

    /** The bytes up to the first NUL (all of them if there is none), as UTF-8. */
    public static String decode(byte[] bytes) {
        int n = 0;
        while (n < bytes.length && bytes[n] != 0) {
            n++;
        }
        return new String(bytes, 0, n, StandardCharsets.UTF_8);
    }
}
