package dev.q2.convert;

import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * q2 convert -S, -t, -T, -m and -W against qemu-img convert with the same arguments: the same exit code, stdout and
 * stderr, the same guest data, and (for -S, the option that changes the layout) the same allocation: qemu-img map
 * --output=json of both targets equal, for raw and qcow2 targets, new and existing (-n). The sources have zero runs
 * of 512 B, 4 KiB, 8 KiB and 64 KiB inside data, at aligned and unaligned offsets. Each tool works in its own
 * folder, on inputs made there by the same commands.
 */
@Tag("qemu")
class ConvertOptionsDifferentialTest extends TwoFolderConvertTest {
    private static final long SIZE = 4L << 20;

    private void io(String format, String image, String... cmds) {
        both.io(format, image, cmds);
    }

    /** Zero runs of 512 B, 4 KiB, 8 KiB and 64 KiB inside data, aligned and not, written as zeros. */
    private static final String[] ZERO_RUNS = {
        "write -P 0x51 0 1536k",
        "write -z 4k 512", "write -z 17k 512",
        "write -z 64k 4k", "write -z 130k 4k",
        "write -z 192k 8k", "write -z 262k 8k",
        "write -z 320k 64k", "write -z 515k 64k",
        "write -P 0 700k 3k", "write -P 0 800k 9k", "write -P 0 900k 16k", "write -P 0 1000k 128k",
        "write -P 0x52 2M 4k", "write -z 2052k 1k", "write -P 0x53 2060k 61k",
        "write -P 0x54 3M 1k", "write -P 0 3073k 63k", "write -P 0x55 3136k 1k",
    };

    private void qcow2Source(String name, String opts) {
        img("create", "-q", "-f", "qcow2", "-o", opts, name, Long.toString(SIZE));
        io("qcow2", name, ZERO_RUNS);
    }

    private void rawSource(String name) {
        img("create", "-q", "-f", "raw", name, Long.toString(SIZE));
        io("raw", name, ZERO_RUNS);
    }

    /** An existing raw target of 0xaa bytes with a hole, so that both kinds of area are overwritten. */
    private void rawTarget(String name) throws IOException {
        target(name, SIZE, 2L << 20);
    }

    // ------------------------------------------------------------------ the comparison

    private static String[] args(String source, String flags, String target) {
        List<String> a = new ArrayList<>(List.of("convert"));
        if (!flags.isBlank()) {
            a.addAll(List.of(flags.trim().split(" +")));
        }
        a.add(source);
        a.add(target);
        return a.toArray(String[]::new);
    }

    /** Converts by both tools and checks the targets: same guest data, same map. */
    private void convertBoth(String source, String flags, String target, String targetFormat) {
        convertBoth(source, flags, target, targetFormat, true);
    }

    private void convertBoth(String source, String flags, String target, String targetFormat, boolean sameMap) {
        String[] a = args(source, flags, target);
        String what = String.join(" ", a);
        Qemu.Result qr = runBoth(a);
        assertThat(qr.exitCode()).as(what + ": " + qr.err()).isZero();
        String srcFormat = source.endsWith(".raw") ? "raw" : "qcow2";
        Qemu.Result same = Qemu.img(o, "compare", "-f", srcFormat, "-F", targetFormat, source, target);
        assertThat(same.exitCode()).as(what + ": " + same.out() + same.err()).isZero();
        if (targetFormat.equals("qcow2")) {
            Qemu.Result check = Qemu.img(o, "check", target);
            assertThat(check.exitCode()).as(what + ": " + check.out() + check.err()).isZero();
        }
        if (sameMap) {
            assertThat(map(o, target, targetFormat)).as(what + ": map").isEqualTo(map(q, target, targetFormat));
        }
    }

    private static String map(Path d, String image, String format) {
        Qemu.Result m = Qemu.img(d, "map", "--output=json", "-f", format, image);
        assertThat(m.exitCode()).as(m.err()).isZero();
        return m.out();
    }

    // ------------------------------------------------------------------ -S: the same allocation

    @ParameterizedTest(name = "-S {0}, {1} source -o {2} into new {3}")
    @CsvSource(delimiter = '|', value = {
        "0|qcow2|cluster_size=64k|raw", "512|qcow2|cluster_size=64k|raw", "4k|qcow2|cluster_size=64k|raw",
        "8k|qcow2|cluster_size=64k|raw", "64k|qcow2|cluster_size=64k|raw", "1536|qcow2|cluster_size=64k|raw",
        "0|qcow2|cluster_size=64k|qcow2", "512|qcow2|cluster_size=64k|qcow2", "4k|qcow2|cluster_size=64k|qcow2",
        "8k|qcow2|cluster_size=64k|qcow2", "64k|qcow2|cluster_size=64k|qcow2", "3k|qcow2|cluster_size=64k|qcow2",
        "512|qcow2|cluster_size=4k|qcow2", "8k|qcow2|extended_l2=on|qcow2", "16M|qcow2|cluster_size=64k|qcow2",
        "0|raw||raw", "512|raw||raw", "4k|raw||raw", "8k|raw||raw", "64k|raw||raw",
        "0|raw||qcow2", "512|raw||qcow2", "4k|raw||qcow2", "8k|raw||qcow2", "64k|raw||qcow2",
    })
    void sparseSizeIntoNewTarget(String sparse, String srcFormat, String srcOpts, String targetFormat) {
        String source = "src." + srcFormat;
        if (srcFormat.equals("raw")) {
            rawSource(source);
        } else {
            qcow2Source(source, srcOpts);
        }
        String target = "out." + targetFormat;
        convertBoth(source, "-S " + sparse + " -O " + targetFormat, target, targetFormat);
    }

    @ParameterizedTest(name = "-S {0} -n into an existing raw file")
    @ValueSource(strings = {"0", "512", "4k", "8k", "64k"})
    void sparseSizeIntoExistingRaw(String sparse) throws IOException {
        qcow2Source("src.qcow2", "cluster_size=64k");
        rawTarget("out.raw");
        convertBoth("src.qcow2", "-n -S " + sparse, "out.raw", "raw");
    }

    @ParameterizedTest(name = "-S {0} -n {1} into an existing qcow2 image")
    @CsvSource(delimiter = '|', value = {"0|", "512|", "4k|", "64k|", "0|--target-is-zero", "8k|--target-is-zero"})
    void sparseSizeIntoExistingQcow2(String sparse, String extra) {
        qcow2Source("src.qcow2", "cluster_size=64k");
        img("create", "-q", "-f", "qcow2", "out.qcow2", Long.toString(SIZE));
        if (extra == null) {
            extra = "";
            io("qcow2", "out.qcow2", "write -P 0xaa 0 4M"); // --target-is-zero needs a target that reads as zeros
        }
        convertBoth("src.qcow2", "-n -O qcow2 -S " + sparse + " " + extra, "out.qcow2", "qcow2");
    }

    @ParameterizedTest(name = "-S {0} -c")
    @ValueSource(strings = {"0", "512", "4k", "64k"})
    void sparseSizeCompressed(String sparse) {
        qcow2Source("src.qcow2", "cluster_size=64k");
        convertBoth("src.qcow2", "-c -O qcow2 -S " + sparse, "out.qcow2", "qcow2");
    }

    @ParameterizedTest(name = "-S {0} with a backing file")
    @ValueSource(strings = {"0", "4k", "64k"})
    void sparseSizeWithBacking(String sparse) {
        img("create", "-q", "-f", "qcow2", "base.qcow2", Long.toString(SIZE));
        io("qcow2", "base.qcow2", "write -P 0x11 0 3M");
        img("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "top.qcow2", Long.toString(SIZE));
        io("qcow2", "top.qcow2", ZERO_RUNS);
        convertBoth("top.qcow2", "-O qcow2 -B base.qcow2 -F qcow2 -S " + sparse, "out.qcow2", "qcow2");
    }

    // ------------------------------------------------------------------ -t, -T, -m, -W: accepted, same result

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "-t none", "-t off", "-t writeback", "-t writethrough", "-t directsync", "-t unsafe",
        "-T none", "-T writeback", "-T unsafe", "-T directsync -t writethrough",
        "-m 1", "-m 16", "-m 0x4", "-m 010", "-W", "-m 8 -W", "-W -c",
    })
    void acceptedOptions(String flags) {
        qcow2Source("src.qcow2", "cluster_size=64k");
        // qemu-img -W may allocate the target's clusters in another order; q2 writes in order
        convertBoth("src.qcow2", flags + " -O qcow2", "out.qcow2", "qcow2", !flags.contains("-W"));
        // without -S, q2's fast path into a new raw file writes zero blocks inside data clusters (the same bytes)
        convertBoth("src.qcow2", flags.replace("-c", "") + " -O raw", "out.raw", "raw", false);
        convertBoth("src.qcow2", flags.replace("-c", "") + " -S 4k -O raw", "out.raw", "raw");
    }

    // ------------------------------------------------------------------ refused values, in qemu-img's order

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "-S 1000", "-S 1", "-S 17M", "-S 32M", "-S -1", "-S abc", "-S 1.5x", "-S 18446744073709551616",
        "-S 0x1k", "-S 1.5k",
        "-m 0", "-m 17", "-m abc", "-m -1", "-m 1x", "-m 08", "-m ''",
        "-S 1 -m 0", "-m 0 -S 1", "-S 17M -t foo", "-m 0 -T foo",
        "-t foo", "-T foo", "-t WriteBack", "-t foo -T bar", "-T bar -t foo",
        "-t foo -O qcow2", "-t foo -O vmdkx", "-t foo -f bogus", "-T foo -f bogus", "-T foo -O bogus",
        "-n -o cluster_size=4k -T foo", "--target-is-zero -T foo", "--target-is-zero -t foo",
        "-n -t foo", "-n -c -t foo", "-t foo -B x -O raw", "-t foo -c -O raw",
        "-t foo -O qcow2 -o cluster_size=3",
        "-p -T foo", "-p -t foo", "-p -f bogus", "-p -O vmdkx", "-p -t foo -n", "-p -S 1000", "-p -n -o x",
        "-p --target-is-zero", "-p -q -t foo", "-p -t foo -O qcow2 -o cluster_size=3",
    })
    void refused(String flags) throws IOException {
        qcow2Source("src.qcow2", "cluster_size=64k");
        rawTarget("out.raw");
        String[] a = args("src.qcow2", flags.replace("''", ""), flags.contains("-O qcow2") ? "new.qcow2" : "out.raw");
        if (flags.contains("''")) {
            List<String> l = new ArrayList<>(List.of(a));
            l.add(l.indexOf("-m") + 1, "");
            a = l.toArray(String[]::new);
        }
        runBoth(a);
        // a target created before the cache mode was read stays behind in both
        for (String t : List.of("out.raw", "new.qcow2")) {
            assertThat(Files.exists(o.resolve(t))).as(t).isEqualTo(Files.exists(q.resolve(t)));
            if (Files.exists(q.resolve(t))) {
                assertThat(Files.size(o.resolve(t))).as(t).isEqualTo(Files.size(q.resolve(t)));
            }
        }
    }

    /** The durability of -t is not visible in the files; a seeded random source checks the copy's data. */
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3})
    void randomRawSourceWithSparseSizes(long seed) throws IOException {
        for (Path d : List.of(q, o)) {
            Random rnd = new Random(seed);
            try (RandomAccessFile f = new RandomAccessFile(d.resolve("src.raw").toFile(), "rw")) {
                f.setLength(SIZE);
                for (int i = 0; i < 60; i++) {
                    long at = (long) (rnd.nextDouble() * (SIZE - 100_000));
                    byte[] b = new byte[1 + rnd.nextInt(90_000)];
                    rnd.nextBytes(b);
                    int zeros = rnd.nextInt(b.length / 2 + 1);
                    int from = rnd.nextInt(b.length - zeros + 1);
                    Arrays.fill(b, from, from + zeros, (byte) 0);
                    f.seek(at);
                    f.write(b);
                }
            }
        }
        String[] sizes = {"0", "512", "1k", "4k", "6k", "8k", "64k"};
        String sparse = sizes[new Random(seed).nextInt(sizes.length)];
        try {
            convertBoth("src.raw", "-f raw -O qcow2 -S " + sparse, "out.qcow2", "qcow2");
            convertBoth("src.raw", "-f raw -O raw -S " + sparse, "out.raw", "raw");
        } catch (AssertionError e) {
            throw new AssertionError("seed " + seed + ", -S " + sparse + ": " + e.getMessage(), e);
        }
    }
}
