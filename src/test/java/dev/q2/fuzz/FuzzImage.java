package dev.q2.fuzz;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Turns a fuzzer's bytes into a qcow2 file in a temporary folder.
 *
 * <p>Layout of an input (mutator-friendly: most of an image stays valid, so coverage goes past the header checks):
 * <ul>
 *   <li>first byte with bit 7 set: the rest of the input is the file itself;</li>
 *   <li>otherwise the first byte selects a seed image ({@code seeds/index.txt}, made by fuzz/make-seeds.sh with
 *       qemu-img) and the rest is a list of patches applied to a copy of it. Each patch is an opcode byte and a
 *       16-bit big-endian offset: the opcode's low 4 bits pick an anchor (0: anywhere, offset times 8; else the
 *       start of a metadata structure of the seed: header, extension area, L1 table, refcount table, first
 *       refcount block, first L2 table, first data cluster, snapshot table, bitmap directory, backing file name,
 *       last cluster), its bits 4-6 what to do there: write 1-32 bytes, a 64/32/16/8-bit value, flip a bit, write a
 *       notable 64-bit value, or cut or grow the file at that point.</li>
 * </ul>
 * Every image lives in one folder per JVM beside the files seeds refer to (base.qcow2, base.raw, data.raw). Inputs
 * whose backing or data file name holds a '/' are skipped ({@link #write} returns null): the targets must only
 * ever open files in that folder.
 */
final class FuzzImage {
    static final int RAW = 0x80;
    /** Largest file a patch may grow an image to. */
    static final int MAX_FILE = 8 << 20;
    private static final String RES = "/dev/q2/fuzz/seeds/";
    private static final Path DIR;
    private static final List<Seed> SEEDS;

    static {
        try {
            DIR = Files.createTempDirectory("q2-fuzz");
            restoreShared();
            SEEDS = new ArrayList<>();
            for (String name : new String(resource("index.txt"), StandardCharsets.US_ASCII).split("\n")) {
                if (!name.isBlank()) {
                    SEEDS.add(Seed.of(name.strip(), resource(name.strip())));
                }
            }
            Runtime.getRuntime().addShutdownHook(new Thread(FuzzImage::deleteDir));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private FuzzImage() {
    }

    /**
     * Writes the image of a fuzz input to a file, to look at a finding with qemu-img:
     * {@code java -cp target/test-classes:target/classes dev.q2.fuzz.FuzzImage INPUT OUT.qcow2}.
     */
    public static void main(String[] args) throws IOException {
        byte[] image = build(Files.readAllBytes(Path.of(args[0])));
        Files.write(Path.of(args[1]), image == null ? new byte[0] : image);
    }

    /**
     * Writes the files the seeds refer to (base.qcow2, base.raw, data.raw) afresh: for targets that write into a
     * backing file (commit) or a data file.
     */
    static void restoreShared() throws IOException {
        for (String shared : List.of("base.qcow2", "base.raw", "data.raw")) {
            Files.write(DIR.resolve(shared), resource(shared));
        }
    }

    /**
     * For targets that write: the image of an input as {@link #write}, with the shared files written afresh
     * ({@link #restoreShared}); false when the input is to be skipped.
     */
    static boolean writeWithFreshShared(byte[] input) throws IOException {
        restoreShared();
        return write(input) != null;
    }

    /** A seed image's bytes, by its name in seeds/index.txt. */
    static byte[] seed(String name) throws IOException {
        return resource(name);
    }

    /** The folder every image is written to. */
    static Path dir() {
        return DIR;
    }

    /** Writes the image an input describes as {@code img.qcow2}; null when the input is to be skipped. */
    static Path write(byte[] input) throws IOException {
        byte[] image = build(input);
        if (image == null || !namesStayInFolder(image)) {
            return null;
        }
        Path p = DIR.resolve("img.qcow2");
        Files.write(p, image);
        return p;
    }

    /** The file an input describes (see the class comment); null for an empty input. */
    static byte[] build(byte[] in) {
        if (in.length == 0) {
            return null;
        }
        int sel = in[0] & 0xff;
        if ((sel & RAW) != 0) {
            return Arrays.copyOfRange(in, 1, in.length);
        }
        Seed seed = SEEDS.get(sel % SEEDS.size());
        Patcher p = new Patcher(seed, in);
        p.run();
        return p.result();
    }

    private static final class Patcher {
        private final Seed seed;
        private final byte[] in;
        private byte[] img;
        private int len;
        private int pos = 1;

        Patcher(Seed seed, byte[] in) {
            this.seed = seed;
            this.in = in;
            this.img = seed.bytes.clone();
            this.len = img.length;
        }

        byte[] result() {
            return img.length == len ? img : Arrays.copyOf(img, len);
        }

        private int u8() {
            return pos < in.length ? in[pos++] & 0xff : 0;
        }

        void run() {
            while (in.length - pos >= 3) {
                int op = u8();
                int rel = (u8() << 8) | u8();
                int anchor = (op & 0x0f) % seed.anchors.length;
                long at = anchor == 0 ? rel * 8L : seed.anchors[anchor] + rel;
                switch ((op >>> 4) & 7) {
                    case 0 -> {
                        int n = (u8() & 31) + 1;
                        for (int i = 0; i < n; i++) {
                            put(at + i, u8());
                        }
                    }
                    case 1 -> putBytes(at, 8);
                    case 2 -> putBytes(at, 4);
                    case 3 -> putBytes(at, 2);
                    case 4 -> putBytes(at, 1);
                    case 5 -> {
                        int b = u8();
                        long o = at + (b >>> 3);
                        if (o < len) {
                            put(o, (img[(int) o] & 0xff) ^ (1 << (b & 7)));
                        }
                    }
                    case 6 -> putLong(at, notable(u8()));
                    default -> resize(at);
                }
            }
        }

        private void putBytes(long at, int n) {
            for (int i = 0; i < n; i++) {
                put(at + i, u8());
            }
        }

        private void putLong(long at, long v) {
            for (int i = 0; i < 8; i++) {
                put(at + i, (int) (v >>> (56 - 8 * i)) & 0xff);
            }
        }

        private void put(long at, int b) {
            if (at >= MAX_FILE) {
                return;
            }
            if (at >= len) {
                resize(at + 1);
            }
            img[(int) at] = (byte) b;
        }

        private void resize(long newLen) {
            int n = (int) Math.min(newLen, MAX_FILE);
            if (n > img.length) {
                img = Arrays.copyOf(img, Math.max(n, Math.min(MAX_FILE, img.length * 2)));
            } else if (n < len) {
                Arrays.fill(img, n, len, (byte) 0);
            }
            len = n;
        }

        /** Values that size, offset and entry fields react to. */
        private long notable(int i) {
            long cs = seed.clusterSize;
            long[] values = {0, 1, -1, Long.MIN_VALUE, Long.MAX_VALUE, 0xffffffffL, 0x80000000L, 0x7fffffffL,
                0x100000000L, cs, cs - 1, cs + 1, len, (long) len - cs, len + cs, 1L << 62, 1L << 63 | cs,
                1L << 63 | len, 1L << 62 | 1L << 63, 1L << 61, 0x00fffffffffffe00L, 0x00ffffffffffff00L, 511, 512,
                1L << 30, 1L << 40, 1L << 55, 1L << 56, 24, 104, 112, 1023};
            return values[i % values.length];
        }
    }

    /** A seed image and where its metadata structures start. */
    private record Seed(String name, byte[] bytes, long[] anchors, long clusterSize) {
        static Seed of(String name, byte[] b) {
            ByteBuffer h = ByteBuffer.wrap(b).order(ByteOrder.BIG_ENDIAN);
            int clusterBits = h.getInt(20);
            long cs = 1L << clusterBits;
            int version = h.getInt(4);
            int headerLength = version == 3 ? h.getInt(100) : 72;
            long l1 = h.getLong(40);
            long reftable = h.getLong(48);
            long refblock0 = h.getLong((int) reftable);
            long l2 = firstNonZero(h, l1, h.getInt(36)) & 0x00fffffffffffe00L;
            long data = l2 == 0 ? 0 : firstNonZero(h, l2, (int) (cs / 8)) & 0x00fffffffffffe00L;
            long snapshots = h.getLong(64);
            long backingName = h.getLong(8);
            long bitmapDir = 0;
            for (int p = headerLength; p + 8 <= cs && p + 8 <= b.length; ) {
                int type = h.getInt(p);
                int l = h.getInt(p + 4);
                if (type == 0 || l < 0) {
                    break;
                }
                if (type == 0x23852875) {
                    bitmapDir = h.getLong(p + 8 + 16);
                }
                p += 8 + ((l + 7) & ~7);
            }
            long last = Math.max(0, b.length - cs);
            return new Seed(name, b, new long[] {0, 0, headerLength, l1, reftable, refblock0, l2, data, snapshots,
                bitmapDir, backingName, last}, cs);
        }

        private static long firstNonZero(ByteBuffer h, long offset, int entries) {
            for (int i = 0; i < entries && offset + 8L * i + 8 <= h.limit(); i++) {
                long v = h.getLong((int) (offset + 8L * i));
                if ((v & 0x00fffffffffffe00L) != 0) {
                    return v;
                }
            }
            return 0;
        }
    }

    /**
     * False when a backing file name or a data file name extension (wherever q2 might find one in the first
     * cluster) has a '/' or '\\', so that no target opens a file outside the folder.
     */
    static boolean namesStayInFolder(byte[] img) {
        if (img.length < 72) {
            return true;
        }
        ByteBuffer h = ByteBuffer.wrap(img).order(ByteOrder.BIG_ENDIAN);
        int clusterBits = h.getInt(20);
        long cs = clusterBits >= 9 && clusterBits <= 21 ? 1L << clusterBits : 1L << 21;
        int end = (int) Math.min(img.length, cs);
        long nameOffset = h.getLong(8);
        long nameLength = Integer.toUnsignedLong(h.getInt(16));
        if (nameOffset != 0 && !plain(img, nameOffset, nameLength, end)) {
            return false;
        }
        for (int p = 72; p + 8 <= end; p++) {
            if (h.getInt(p) == 0x44415441 && !plain(img, p + 8, Integer.toUnsignedLong(h.getInt(p + 4)), end)) {
                return false;
            }
        }
        return true;
    }

    private static boolean plain(byte[] img, long offset, long length, int end) {
        long stop = Math.min(end, offset + Math.min(length, 4096));
        for (long i = Math.max(0, offset); i < stop; i++) {
            if (img[(int) i] == '/' || img[(int) i] == '\\') {
                return false;
            }
        }
        return true;
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream s = FuzzImage.class.getResourceAsStream(RES + name)) {
            if (s == null) {
                throw new IOException("missing fuzz seed resource " + RES + name);
            }
            return s.readAllBytes();
        }
    }

    private static void deleteDir() {
        try (Stream<Path> files = Files.walk(DIR)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: a temp folder
        }
    }
}
