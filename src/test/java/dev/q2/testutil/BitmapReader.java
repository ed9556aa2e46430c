package dev.q2.testutil;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the persistent bitmaps of a qcow2 file straight from its bytes, written from the spec (docs/interop/qcow2.txt,
 * "Bitmaps") without q2's own classes, so that tests compare what qemu-img and q2 left in their files: the header's
 * autoclear bits, the bitmap directory and every bitmap's dirty bits as guest byte ranges.
 */
public final class BitmapReader {
    private static final int BITMAPS_EXT = 0x23852875;
    private static final long OFFSET_MASK = 0x00fffffffffffe00L;

    private BitmapReader() {
    }

    /** One bitmap: its directory fields (the name's bytes as ISO-8859-1), its dirty bits as "start-end" guest byte ranges (end exclusive). */
    public record Bitmap(String name, int flags, int type, int granularityBits, int tableSize, long tableOffset,
                         List<String> dirty) {
        /** The same without the table offset (where each program put it may differ). */
        public Bitmap withoutLayout() {
            return new Bitmap(name, flags, type, granularityBits, tableSize, 0, dirty);
        }
    }

    /** What the header says and the bitmaps. {@code extension} is false when there is no bitmaps extension. */
    public record Bitmaps(long autoclear, boolean extension, int nbBitmaps, List<Bitmap> bitmaps) {
        public Bitmaps withoutLayout() {
            return new Bitmaps(autoclear, extension, nbBitmaps,
                    bitmaps.stream().map(Bitmap::withoutLayout).toList());
        }

        public Bitmap named(String name) {
            return bitmaps.stream().filter(b -> b.name().equals(name)).findFirst().orElseThrow();
        }
    }

    /** Where the directory is: {offset, size, nb_bitmaps}, or null. */
    private static long[] extension(FileChannel ch) throws IOException {
        ByteBuffer h = read(ch, 0, 112);
        int headerLength = h.getInt(4) == 3 ? h.getInt(100) : 72;
        long cs = 1L << h.getInt(20);
        long end = h.getLong(8) != 0 ? h.getLong(8) : cs;
        ByteBuffer ext = read(ch, headerLength, (int) (end - headerLength));
        while (ext.remaining() >= 8) {
            int type = ext.getInt();
            int len = ext.getInt();
            if (type == 0) {
                break;
            }
            if (type == BITMAPS_EXT) {
                int nb = ext.getInt(ext.position());
                return new long[] {ext.getLong(ext.position() + 16), ext.getLong(ext.position() + 8), nb};
            }
            ext.position(ext.position() + ((len + 7) & ~7));
        }
        return null;
    }

    public static Bitmaps read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer h = read(ch, 0, 112);
            long autoclear = h.getInt(4) == 3 ? h.getLong(88) : 0;
            long size = h.getLong(24);
            long cs = 1L << h.getInt(20);
            long[] ext = extension(ch);
            if (ext == null) {
                return new Bitmaps(autoclear, false, 0, List.of());
            }
            ByteBuffer dir = read(ch, ext[0], (int) ext[1]);
            List<Bitmap> out = new ArrayList<>();
            for (int i = 0; i < ext[2]; i++) {
                int start = dir.position();
                long tableOffset = dir.getLong();
                int tableSize = dir.getInt();
                int flags = dir.getInt();
                int type = dir.get() & 0xff;
                int gb = dir.get() & 0xff;
                int nameSize = dir.getShort() & 0xffff;
                int extra = dir.getInt();
                dir.position(dir.position() + extra);
                byte[] name = new byte[nameSize];
                dir.get(name);
                dir.position(start + ((24 + extra + nameSize + 7) & ~7));
                out.add(new Bitmap(new String(name, StandardCharsets.ISO_8859_1), flags, type, gb, tableSize,
                        tableOffset, dirtyRanges(ch, tableOffset, tableSize, gb, cs, size)));
            }
            return new Bitmaps(autoclear, true, (int) ext[2], out);
        }
    }

    private static List<String> dirtyRanges(FileChannel ch, long tableOffset, int tableSize, int gb, long cs,
                                            long size) throws IOException {
        ByteBuffer table = read(ch, tableOffset, tableSize * 8);
        long bits = (size + (1L << gb) - 1) >>> gb;
        long perCluster = cs * 8;
        List<String> out = new ArrayList<>();
        long runStart = -1;
        for (int t = 0; t < tableSize; t++) {
            long e = table.getLong(t * 8);
            long off = e & OFFSET_MASK;
            ByteBuffer data = off != 0 ? read(ch, off, (int) cs) : null;
            for (long i = 0; i < perCluster; i++) {
                long bit = t * perCluster + i;
                if (bit >= bits) {
                    break;
                }
                boolean set = data != null ? (data.get((int) (i >>> 3)) >> (i & 7) & 1) != 0 : (e & 1) != 0;
                if (set && runStart < 0) {
                    runStart = bit;
                } else if (!set && runStart >= 0) {
                    out.add((runStart << gb) + "-" + (bit << gb));
                    runStart = -1;
                }
            }
        }
        if (runStart >= 0) {
            out.add((runStart << gb) + "-" + (bits << gb));
        }
        return out;
    }

    /** Sets a bitmap's flags in its directory entry (to build an image with a bitmap already in use). */
    public static void setFlags(Path file, String name, int flags) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long[] ext = extension(ch);
            ByteBuffer dir = read(ch, ext[0], (int) ext[1]);
            for (int i = 0; i < ext[2]; i++) {
                int start = dir.position();
                int nameSize = dir.getShort(start + 18) & 0xffff;
                int extra = dir.getInt(start + 20);
                byte[] n = new byte[nameSize];
                dir.get(start + 24 + extra, n);
                if (new String(n, StandardCharsets.ISO_8859_1).equals(name)) {
                    ByteBuffer f = ByteBuffer.allocate(4).putInt(flags).flip();
                    ch.write(f, ext[0] + start + 12);
                    return;
                }
                dir.position(start + ((24 + extra + nameSize + 7) & ~7));
            }
            throw new IllegalArgumentException("no bitmap " + name);
        }
    }

    /** The first {@code n} bytes of a file. */
    public static byte[] head(Path file, int n) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return read(ch, 0, n).array();
        }
    }

    private static ByteBuffer read(FileChannel ch, long pos, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.BIG_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, pos + b.position()) < 0) {
                break;
            }
        }
        b.clear();
        return b;
    }
}
