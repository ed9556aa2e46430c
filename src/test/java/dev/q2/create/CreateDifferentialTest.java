package dev.q2.create;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * q2 create and qemu-img create side by side on seeded random option combinations: the same stdout, the same bytes
 * in every file either writes, and qemu-img info/check agree on q2's image. The seed is printed on failure.
 */
@Tag("qemu")
class CreateDifferentialTest {
    @TempDir
    Path tmp;

    @BeforeEach
    void needQemu() {
        Qemu.assumeAvailable();
    }

    private static final String[] CLUSTER = {"512", "1k", "4k", "16k", "32k", "64k", "128k", "512k", "1M", "2M"};
    private static final String[] SIZES = {"0", "1", "511", "1000000", "1M", "64M", "1G", "100G", "1T", "1000000000"};

    @Test
    void randomCombinationsMatchQemuImg() throws Exception {
        long seed = Long.getLong("q2.seed", System.nanoTime());
        Random rnd = new Random(seed);
        for (int i = 0; i < 40; i++) {
            List<String> args = randomArgs(rnd);
            Path q = Files.createDirectory(tmp.resolve("q" + i));
            Path ours = Files.createDirectory(tmp.resolve("o" + i));
            for (Path d : List.of(q, ours)) {
                Qemu.img(d, "create", "-q", "-f", "qcow2", "base.qcow2", "16M");
            }
            List<String> full = new ArrayList<>(List.of("create", "-f", "qcow2"));
            full.addAll(args);
            Qemu.Result expected = Qemu.img(q, full.toArray(String[]::new));
            Cli.Result actual = Cli.runIn(ours, full.toArray(String[]::new));
            String what = "seed " + seed + " case " + i + ": " + args;
            assertThat(actual.exitCode()).as(what + " stderr " + actual.err() + " / " + expected.err())
                    .isEqualTo(expected.exitCode());
            assertThat(actual.out()).as(what).isEqualTo(expected.out());
            for (String f : List.of("img.qcow2", "data.raw")) {
                assertThat(Files.exists(ours.resolve(f))).as(what + " " + f).isEqualTo(Files.exists(q.resolve(f)));
                if (Files.exists(q.resolve(f))) {
                    assertThat(Files.mismatch(ours.resolve(f), q.resolve(f))).as(what + " bytes of " + f)
                            .isEqualTo(-1L);
                }
            }
            if (expected.exitCode() == 0) {
                Qemu.Result check = Qemu.img(ours, "check", "img.qcow2");
                assertThat(check.exitCode()).as(what + " qemu-img check of q2's image: " + check.out()).isZero();
                for (String chain : List.of("-U", "--backing-chain")) {
                    Qemu.Result qi = Qemu.img(ours, "info", "--output=json", chain, "img.qcow2");
                    Cli.Result oi = Cli.runIn(ours, "info", "--output=json", chain, "img.qcow2");
                    assertThat(dev.q2.info.InfoFixtureTest.withoutL2Cache(oi.out())).as(what + " info " + chain)
                            .isEqualTo(qi.out());
                }
            }
        }
    }

    private static List<String> randomArgs(Random rnd) {
        List<String> opts = new ArrayList<>();
        String cluster = CLUSTER[rnd.nextInt(CLUSTER.length)];
        opts.add("cluster_size=" + cluster);
        boolean ext = rnd.nextInt(3) == 0;
        if (ext) {
            opts.add("extended_l2=on");
        }
        if (rnd.nextInt(3) == 0) {
            opts.add("refcount_bits=" + (1 << rnd.nextInt(7)));
        }
        if (rnd.nextInt(5) == 0) {
            opts.add("compat=" + (rnd.nextBoolean() ? "0.10" : "1.1"));
        }
        if (rnd.nextInt(4) == 0) {
            opts.add("lazy_refcounts=on");
        }
        if (rnd.nextInt(4) == 0) {
            opts.add("compression_type=zstd");
        }
        String size = SIZES[rnd.nextInt(SIZES.length)];
        int prealloc = rnd.nextInt(6);
        boolean small = size.equals("0") || size.equals("1") || size.equals("511") || size.equals("1000000")
                || size.equals("1M") || size.equals("64M");
        if (prealloc == 1 || (prealloc >= 2 && small && !cluster.equals("512"))) {
            opts.add("preallocation=" + (prealloc == 1 ? "metadata" : prealloc == 2 ? "falloc" : "full"));
        }
        if (prealloc == 1 && !small) {
            size = "64M";
        }
        int extra = rnd.nextInt(6);
        List<String> args = new ArrayList<>();
        if (extra == 0) {
            opts.add("data_file=data.raw");
            if (rnd.nextBoolean()) {
                opts.add("data_file_raw=on");
            }
            if (!small) {
                size = "64M";
            }
        } else if (extra == 1) {
            args.addAll(List.of("-b", "base.qcow2", "-F", "qcow2"));
            if (rnd.nextBoolean()) {
                size = null; // taken from the backing file
            }
        }
        args.add("-o");
        args.add(String.join(",", opts));
        args.add("img.qcow2");
        if (size != null) {
            args.add(size);
        }
        return args;
    }
}
