package dev.q2.check;

import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Differential test: images made with qemu-img/qemu-io in many configurations, corrupted in the ways qemu-img check
 * knows, then checked by both tools (same exit code, same JSON, same stderr) and repaired by both with -r all (the
 * repaired image is clean for qemu-img and its guest data equals qemu-img's own repair of a copy).
 * Skipped when qemu-img is not installed.
 */
@Tag("qemu")
class CheckDifferentialTest {
    @TempDir
    Path dir;

    /** An image configuration: qemu-img create options and the qemu-io writes that fill it. */
    record Config(String name, String options, String size, String... writes) {
    }

    /** A corruption applied with raw byte edits after qemu wrote the image. */
    enum Damage { NONE, LEAK, REFCOUNT_ZERO, REFCOUNT_HIGH, COPIED_CLEARED, L2_UNALIGNED, L2_PAST_EOF, L2_DOUBLE,
        L1_RESERVED, SUBCLUSTER_BITMAP, REFTABLE_UNALIGNED }

    static List<Object[]> cases() {
        List<Config> configs = List.of(
                new Config("default", "", "4M", "write -P 0x11 0 192k", "write -P 0x22 1M 64k"),
                new Config("c512", "cluster_size=512", "1M", "write -P 0x11 0 8k", "write -P 0x22 100k 1k"),
                new Config("c4k-rb1", "cluster_size=4k,refcount_bits=1", "4M", "write -P 0x11 0 40k"),
                new Config("rb8", "refcount_bits=8", "4M", "write -P 0x11 0 192k"),
                new Config("rb64", "refcount_bits=64", "4M", "write -P 0x11 0 192k"),
                new Config("v2", "compat=0.10", "4M", "write -P 0x11 0 192k"),
                new Config("extl2", "extended_l2=on", "4M", "write -P 0x11 0 2k", "write -P 0x22 64k 64k",
                        "write -z 132k 4k", "write -P 0x33 200k 64k"),
                new Config("lazy", "lazy_refcounts=on", "4M", "write -P 0x11 0 192k"));
        return CheckVerdicts.pairs(configs, Damage.values(),
                (c, d) -> !(d == Damage.SUBCLUSTER_BITMAP && !c.options().contains("extended_l2"))
                        && !(d == Damage.REFCOUNT_HIGH && c.options().contains("refcount_bits=1")));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void sameVerdictAndRepair(Config c, Damage d) throws Exception {
        Qemu.assumeAvailable();
        List<String> create = new ArrayList<>(List.of("create", "-q", "-f", "qcow2"));
        if (!c.options().isEmpty()) {
            create.add("-o");
            create.add(c.options());
        }
        create.add("img.qcow2");
        create.add(c.size());
        Qemu.imgOk(dir, create.toArray(String[]::new));
        Qemu.ioOk(dir, "img.qcow2", c.writes());
        damage(dir.resolve("img.qcow2"), d);
        CheckVerdicts.sameVerdictAndRepair(dir, false);
    }

    private static void damage(Path img, Damage d) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            int clusterBits = readInt(f, 20);
            long cs = 1L << clusterBits;
            int version = readInt(f, 4);
            int refcountOrder = version >= 3 ? readInt(f, 96) : 4;
            boolean ext = version >= 3 && (readLong(f, 72) & 16) != 0;
            int entrySize = ext ? 16 : 8;
            long l1 = readLong(f, 40);
            long reftable = readLong(f, 48);
            long l2 = readLong(f, l1) & 0x00fffffffffffe00L;
            long e0 = readLong(f, l2);
            long data0 = e0 & 0x00fffffffffffe00L;
            switch (d) {
                case NONE -> {
                }
                case LEAK -> writeLong(f, l2 + entrySize, 0); // guest cluster 1 loses its host cluster
                case REFCOUNT_ZERO -> setRefcount(f, reftable, cs, clusterBits, refcountOrder, data0, 0);
                case REFCOUNT_HIGH -> setRefcount(f, reftable, cs, clusterBits, refcountOrder, data0, 3);
                case COPIED_CLEARED -> writeLong(f, l2, e0 & ~(1L << 63));
                case L2_UNALIGNED -> writeLong(f, l2 + entrySize, (readLong(f, l2 + entrySize) | 0x200));
                case L2_PAST_EOF -> writeLong(f, l2 + entrySize, (1L << 63) | ((f.length() + 16 * cs) & ~(cs - 1)));
                case L2_DOUBLE -> writeLong(f, l2 + entrySize, e0);
                case L1_RESERVED -> writeLong(f, l1, readLong(f, l1) | 2);
                case SUBCLUSTER_BITMAP -> writeLong(f, l2 + 8, readLong(f, l2 + 8) | (1L << 32));
                case REFTABLE_UNALIGNED -> writeLong(f, reftable, readLong(f, reftable) | 0x200);
            }
        }
    }

    static void setRefcount(RandomAccessFile f, long reftable, long cs, int clusterBits, int order,
                                     long host, long value) throws IOException {
        long cluster = host >>> clusterBits;
        long perBlock = cs * 8 >>> order;
        long block = readLong(f, reftable + 8 * (cluster / perBlock)) & ~0x1ffL;
        long index = cluster % perBlock;
        int bits = 1 << order;
        if (bits >= 8) {
            long pos = block + index * bits / 8;
            for (int i = bits / 8 - 1; i >= 0; i--) {
                f.seek(pos + i);
                f.write((int) value);
                value >>>= 8;
            }
        } else {
            long pos = block + index * bits / 8;
            f.seek(pos);
            int b = f.read();
            int shift = (int) (index * bits % 8);
            int mask = ((1 << bits) - 1) << shift;
            f.seek(pos);
            f.write((b & ~mask) | (((int) value << shift) & mask));
        }
    }

    static int readInt(RandomAccessFile f, long pos) throws IOException {
        f.seek(pos);
        return f.readInt();
    }

    static long readLong(RandomAccessFile f, long pos) throws IOException {
        f.seek(pos);
        return f.readLong();
    }

    static void writeLong(RandomAccessFile f, long pos, long v) throws IOException {
        f.seek(pos);
        f.writeLong(v);
    }
}
