package dev.q2.map;

import java.io.IOException;
import java.io.Writer;

/**
 * qemu-img map's two output formats, text for text. JSON: one object per extent, one per line, inside one array.
 * Human: a table of the extents that hold data ("Offset Length Mapped to File", hex, each column 16 wide); it
 * refuses extents with data but no host offset (compressed clusters) with qemu-img's message, after printing the rows
 * before them. Output is buffered and written in pieces, never held whole.
 */
public abstract class MapPrinter implements MapSink {
    private static final int FLUSH_AT = 1 << 16;

    private final Writer out;
    final StringBuilder buf = new StringBuilder(FLUSH_AT + 512);

    MapPrinter(Writer out) {
        this.out = out;
    }

    public static MapPrinter json(Writer out) {
        return new Json(out);
    }

    public static MapPrinter human(Writer out) {
        return new Human(out);
    }

    final void maybeFlush() throws IOException {
        if (buf.length() >= FLUSH_AT) {
            flush();
        }
    }

    /** Writes what is buffered (also done on errors, so that the rows before an error are shown). */
    public final void flush() throws IOException {
        out.write(buf.toString());
        buf.setLength(0);
        out.flush();
    }

    @Override
    public void end() throws IOException {
        flush();
    }

    private static final class Json extends MapPrinter {
        Json(Writer out) {
            super(out);
        }

        @Override
        public void begin() {
            buf.append('[');
        }

        @Override
        public void entry(MapEntry e, MapEntry next) throws IOException {
            buf.append("{ \"start\": ").append(e.start)
                    .append(", \"length\": ").append(e.length)
                    .append(", \"depth\": ").append(e.depth)
                    .append(", \"present\": ").append(e.present)
                    .append(", \"zero\": ").append(e.zero)
                    .append(", \"data\": ").append(e.data);
            if (e.hasOffset) {
                buf.append(", \"offset\": ").append(e.offset);
            }
            buf.append('}');
            if (next != null) {
                buf.append(",\n");
            }
            maybeFlush();
        }

        @Override
        public void end() throws IOException {
            buf.append("]\n");
            super.end();
        }
    }

    private static final class Human extends MapPrinter {
        Human(Writer out) {
            super(out);
        }

        @Override
        public void begin() {
            column("Offset");
            column("Length");
            column("Mapped to");
            buf.append("File\n");
        }

        @Override
        public void entry(MapEntry e, MapEntry next) throws IOException {
            if (e.data && !e.hasOffset) {
                throw new MapException("File contains external, encrypted or compressed clusters.");
            }
            if (e.data && !e.zero) {
                hex(e.start);
                hex(e.length);
                hex(e.hasOffset ? e.offset : 0);
                buf.append(e.filename == null ? "" : e.filename).append('\n');
            }
            // Zero, preallocated-zero and unallocated areas all read as "not shown": make them one kind, so that
            // they merge with each other.
            if (next != null && (!next.data || next.zero)) {
                next.data = false;
                next.zero = true;
            }
            maybeFlush();
        }

        /** printf("%#-16" PRIx64): "0x" and lower-case hex (plain "0" for zero), left-aligned in 16 columns. */
        private void hex(long v) {
            column(v == 0 ? "0" : "0x" + Long.toHexString(v));
        }

        private void column(String s) {
            buf.append(s);
            for (int i = s.length(); i < 16; i++) {
                buf.append(' ');
            }
        }
    }
}
