package dev.q2.cli;

import dev.q2.map.ImageMapper;
import dev.q2.map.MapEntry;
import dev.q2.map.MapException;
import dev.q2.map.MapSink;

import java.io.IOException;
import java.io.Writer;
import java.util.Arrays;

/**
 * qemu-img map's two output formats, text for text. JSON: one object per extent, one per line, inside one array.
 * Human: a table of the extents that hold data ("Offset Length Mapped to File", hex, each column 16 wide); it
 * refuses extents with data but no host offset (compressed clusters) with qemu-img's message, after printing the rows
 * before them. Output is buffered and written in pieces, never held whole. The human table needs the extents merged
 * as {@link ImageMapper.Merging#HUMAN} says ({@link #merging()}).
 */
abstract class MapPrinter implements MapSink {
    private static final int FLUSH_AT = 1 << 16;

    private final Writer out;
    private final ImageMapper.Merging merging;
    /** Pending output; written out once it holds FLUSH_AT chars. */
    private char[] buf = new char[FLUSH_AT + 1024];
    private int len;

    MapPrinter(Writer out, ImageMapper.Merging merging) {
        this.out = out;
        this.merging = merging;
    }

    static MapPrinter json(Writer out) {
        return new Json(out);
    }

    static MapPrinter human(Writer out) {
        return new Human(out);
    }

    /** How the mapper must merge extents for this output. */
    final ImageMapper.Merging merging() {
        return merging;
    }

    final void maybeFlush() throws IOException {
        if (len >= FLUSH_AT) {
            out.write(buf, 0, len);
            len = 0;
        }
    }

    /** Writes what is buffered (also done on errors, so that the rows before an error are shown). */
    final void flush() throws IOException {
        out.write(buf, 0, len);
        len = 0;
        out.flush();
    }

    private void ensure(int more) {
        if (len + more > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + more));
        }
    }

    final void append(String s) {
        int n = s.length();
        ensure(n);
        s.getChars(0, n, buf, len);
        len += n;
    }

    final void append(char c) {
        ensure(1);
        buf[len++] = c;
    }

    final void append(boolean b) {
        append(b ? "true" : "false");
    }

    /** A signed decimal, as printf("%" PRId64) prints it. */
    final void append(long v) {
        if (v == Long.MIN_VALUE) {
            append("-9223372036854775808");
            return;
        }
        ensure(20);
        if (v < 0) {
            buf[len++] = '-';
            v = -v;
        }
        int digits = 1;
        for (long p = 10; digits < 19 && v >= p; p *= 10) {
            digits++;
        }
        int end = len + digits;
        for (int i = end - 1; i >= len; i--) {
            buf[i] = (char) ('0' + v % 10);
            v /= 10;
        }
        len = end;
    }

    /** Lower-case hex digits of a value (unsigned). */
    final void appendHex(long v) {
        ensure(16);
        int digits = Math.max(1, (67 - Long.numberOfLeadingZeros(v)) / 4);
        for (int i = digits - 1; i >= 0; i--) {
            buf[len + i] = Character.forDigit((int) (v & 15), 16);
            v >>>= 4;
        }
        len += digits;
    }

    final int length() {
        return len;
    }

    @Override
    public void end() throws IOException {
        flush();
    }

    private static final class Json extends MapPrinter {
        Json(Writer out) {
            super(out, ImageMapper.Merging.JSON);
        }

        @Override
        public void begin() {
            append('[');
        }

        @Override
        public void entry(MapEntry e, boolean last) throws IOException {
            append("{ \"start\": ");
            append(e.start());
            append(", \"length\": ");
            append(e.length());
            append(", \"depth\": ");
            append((long) e.depth());
            append(", \"present\": ");
            append(e.present());
            append(", \"zero\": ");
            append(e.zero());
            append(", \"data\": ");
            append(e.data());
            if (e.hasOffset()) {
                append(", \"offset\": ");
                append(e.offset());
            }
            append('}');
            if (!last) {
                append(",\n");
            }
            maybeFlush();
        }

        @Override
        public void end() throws IOException {
            append("]\n");
            super.end();
        }
    }

    private static final class Human extends MapPrinter {
        Human(Writer out) {
            super(out, ImageMapper.Merging.HUMAN);
        }

        @Override
        public void begin() {
            column("Offset");
            column("Length");
            column("Mapped to");
            append("File\n");
        }

        @Override
        public void entry(MapEntry e, boolean last) throws IOException {
            // Extents without data shown arrive as zero (Merging.HUMAN), so that they merge with each other.
            if (e.data() && !e.hasOffset()) {
                throw new MapException("File contains external, encrypted or compressed clusters.");
            }
            if (e.data() && !e.zero()) {
                hex(e.start());
                hex(e.length());
                hex(e.hasOffset() ? e.offset() : 0);
                append(e.filename() == null ? "" : e.filename());
                append('\n');
            }
            maybeFlush();
        }

        /** printf("%#-16" PRIx64): "0x" and lower-case hex (plain "0" for zero), left-aligned in 16 columns. */
        private void hex(long v) {
            int before = length();
            if (v == 0) {
                append('0');
            } else {
                append("0x");
                appendHex(v);
            }
            pad(before);
        }

        private void column(String s) {
            int before = length();
            append(s);
            pad(before);
        }

        private void pad(int columnStart) {
            for (int i = length() - columnStart; i < 16; i++) {
                append(' ');
            }
        }
    }
}
