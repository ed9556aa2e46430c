package dev.q2.convert;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * q2 convert into qcow2 targets with a backing file, an external data file, or in place (-n), against qemu-img
 * convert with the same arguments: the same exit code, a clean target that qemu-img compare finds identical to
 * qemu-img's, and the same clusters allocated (qemu-img map --output=json of both targets equal). Each tool works in
 * its own copy of the inputs, so names inside the images (data files) are the same.
 */
@Tag("qemu")
class ConvertBackingDifferentialTest extends TwoFolderConvertTest {
    private static final long SIZE = 6L << 20;

    private void io(String image, String... cmds) {
        both.io(image.endsWith(".raw") ? "raw" : null, image, cmds);
    }

    /** A sparse raw file with data, zeros written as data, short zero gaps and holes, not 512-aligned in size. */
    private void rawSource(String name, long seed) throws IOException {
        randomRaw(name, SIZE - 300, SIZE, seed);
    }

    // ------------------------------------------------------------------ the comparison

    /** Converts {@code source} with {@code args} by both tools into out.qcow2 and checks the targets agree. */
    private void convertBoth(String source, boolean identicalToSource, String... args) throws IOException {
        convertBoth(source, identicalToSource, true, args);
    }

    private void convertBoth(String source, boolean identicalToSource, boolean sameMap, String... args)
            throws IOException {
        List<String> a = new ArrayList<>(List.of("convert"));
        a.addAll(List.of(args));
        a.add(source);
        a.add("out.qcow2");
        String what = String.join(" ", a);
        Qemu.Result qr = runBoth(a.toArray(String[]::new));
        assertThat(qr.exitCode()).as(what + ": " + qr.err()).isZero();
        Qemu.Result check = Qemu.img(o, "check", "out.qcow2");
        assertThat(check.exitCode()).as(what + ": " + check.out() + check.err()).isZero();
        // each flattened in its own folder: QEMU opens a data file relative to the working directory
        for (Path d : List.of(q, o)) {
            Qemu.Result flat = Qemu.img(d, "convert", "-O", "raw", "out.qcow2", "flat.raw");
            assertThat(flat.exitCode()).as(what + ": " + flat.err()).isZero();
        }
        assertThat(Files.mismatch(q.resolve("flat.raw"), o.resolve("flat.raw"))).as(what).isEqualTo(-1L);
        String qMap = Qemu.img(q, "map", "--output=json", "out.qcow2").out();
        String oMap = Qemu.img(o, "map", "--output=json", "out.qcow2").out();
        if (sameMap) {
            assertThat(oMap).as(what).isEqualTo(qMap);
        }
        if (identicalToSource) {
            List<String> c = new ArrayList<>(List.of("compare"));
            if (source.endsWith(".raw")) {
                c.addAll(List.of("-f", "raw"));
            }
            c.add(source);
            c.add("out.qcow2");
            Qemu.Result vs = Qemu.img(o, c.toArray(String[]::new));
            assertThat(vs.exitCode()).as(what + ": " + vs.out()).isZero();
        }
    }

    // ------------------------------------------------------------------ cases

    @ParameterizedTest(name = "chain of two, target -o {0}")
    @CsvSource(delimiter = '|', value = {"cluster_size=64k", "cluster_size=4k", "extended_l2=on",
        "cluster_size=128k,extended_l2=on", "compat=0.10", "lazy_refcounts=on,refcount_bits=1"})
    void chainOfTwo(String targetOpts) throws IOException {
        chain("cluster_size=64k", SIZE);
        convertBoth("mid.qcow2", true, "-O", "qcow2", "-o", targetOpts, "-B", "base.qcow2", "-F", "qcow2");
    }

    @Test
    void chainOfThreeOnTheSourcesBackingFile() throws IOException {
        chain("cluster_size=16k", SIZE);
        convertBoth("top.qcow2", true, "-O", "qcow2", "-B", "mid.qcow2", "-F", "qcow2");
    }

    @Test
    void chainOfThreeOnTheBaseCopiesOnlyTheTopLayer() throws IOException {
        // qemu-img -B copies what the source's top layer allocates; mid.qcow2's data is not copied
        chain("cluster_size=64k", SIZE);
        convertBoth("top.qcow2", false, "-O", "qcow2", "-o", "backing_file=base.qcow2,backing_fmt=qcow2");
        Qemu.Result vs = Qemu.img(o, "compare", "top.qcow2", "out.qcow2");
        assertThat(vs.exitCode()).as(vs.out()).isEqualTo(1);
    }

    @Test
    void chainWithoutBackingForTheTargetIsFlattened() throws IOException {
        chain("cluster_size=64k", SIZE);
        convertBoth("top.qcow2", true, "-O", "qcow2", "-o", "cluster_size=32k");
    }

    @ParameterizedTest(name = "raw source on a raw backing file of {0} bytes, -o {1}")
    @CsvSource(delimiter = '|', value = {"6291456|cluster_size=64k", "1000000|cluster_size=64k",
        "1000000|extended_l2=on", "3000000|cluster_size=4k", "0|cluster_size=64k"})
    void rawBackingFiles(long backingSize, String targetOpts) throws IOException {
        rawSource("src.raw", backingSize);
        img("create", "-q", "-f", "raw", "base.raw", Long.toString(backingSize));
        if (backingSize > 0) {
            io("base.raw", "write -P 0x66 0 " + (backingSize - backingSize % 512 - 4096));
        }
        convertBoth("src.raw", backingSize == 0, "-f", "raw", "-O", "qcow2", "-o", targetOpts, "-B", "base.raw",
                "-F", "raw");
    }

    @Test
    void shortQcow2BackingFile() throws IOException {
        chain("cluster_size=64k", SIZE);
        img("create", "-q", "-f", "qcow2", "short.qcow2", "1000448");
        io("short.qcow2", "write -P 0x77 0 900k");
        convertBoth("top.qcow2", false, "-O", "qcow2", "-B", "short.qcow2", "-F", "qcow2");
    }

    @ParameterizedTest(name = "-c -B, source {0}, -o {1}")
    @CsvSource(delimiter = '|', value = {"mid.qcow2|cluster_size=64k", "top.qcow2|cluster_size=16k",
        "src.raw|compression_type=zstd", "src.raw|cluster_size=512"})
    void compressedTargetsWithABackingFile(String source, String targetOpts) throws IOException {
        chain("cluster_size=64k", SIZE);
        rawSource("src.raw", 7);
        String backing = source.equals("top.qcow2") ? "mid.qcow2" : "base.qcow2";
        convertBoth(source, !source.endsWith(".raw"), "-c", "-O", "qcow2", "-o", targetOpts, "-B", backing,
                "-F", "qcow2");
    }

    @ParameterizedTest(name = "data file -o {0}")
    @CsvSource(delimiter = '|', value = {"data_file=out.data", "data_file=out.data,data_file_raw=on",
        "data_file=out.data,extended_l2=on", "data_file=out.data,cluster_size=4k"})
    void dataFileTargets(String targetOpts) throws IOException {
        rawSource("src.raw", 3);
        convertBoth("src.raw", true, "-f", "raw", "-O", "qcow2", "-o", targetOpts);
        if (targetOpts.contains("data_file_raw=on")) {
            assertThat(Files.mismatch(q.resolve("out.data"), o.resolve("out.data"))).isEqualTo(-1L);
        }
    }

    @Test
    void dataFileTargetWithABackingFile() throws IOException {
        chain("cluster_size=64k", SIZE);
        convertBoth("mid.qcow2", true, "-O", "qcow2", "-o", "data_file=out.data", "-B", "base.qcow2", "-F",
                "qcow2");
    }

    @ParameterizedTest(name = "-n {0}")
    @CsvSource(delimiter = '|', value = {"none", "--target-is-zero", "-B"})
    void intoAnExistingTarget(String flag) throws IOException {
        chain("cluster_size=64k", SIZE);
        rawSource("src.raw", 11);
        img("create", "-q", "-f", "qcow2", "-o", "cluster_size=32k", "out.qcow2", Long.toString(SIZE + (1 << 20)));
        if (!flag.equals("--target-is-zero")) {
            io("out.qcow2", "write -P 0x7f 0 3M", "write -z 3M 1M", "write -c -P 0x7e 5M 64k");
        }
        List<String> args = new ArrayList<>(List.of("-n", "-O", "qcow2"));
        String source = "src.raw";
        switch (flag) {
            case "--target-is-zero" -> args.add(flag);
            case "-B" -> {
                args.addAll(List.of("-B", "base.qcow2", "-F", "qcow2"));
                source = "mid.qcow2";
            }
            default -> {
            }
        }
        if (source.endsWith(".raw")) {
            args.addAll(0, List.of("-f", "raw"));
        }
        // Into a target with data, zero writes free clusters: QEMU reuses them for the next allocations at once,
        // q2 frees them at the next flush (crash safety), so new clusters land elsewhere; the guest data is the same.
        convertBoth(source, false, flag.equals("--target-is-zero"), args.toArray(String[]::new));
    }

    /** qemu-img's message (with "qemu-img: " as "q2: ") and exit code for the errors a backing or -n brings. */
    @ParameterizedTest(name = "error: {0}")
    @CsvSource(delimiter = '|', value = {
        "-O raw -B base.qcow2 -F qcow2",
        "-O qcow2 -B nope.qcow2 -F qcow2",
        "-O qcow2 -B base.qcow2",
        "-O qcow2 -o backing_file=base.qcow2",
        "-O qcow2 -F qcow2",
        "-O qcow2 -B base.qcow2 -F qcow2 -o data_file=d.raw,data_file_raw=on",
        "-O qcow2 -o data_file=d.raw -c",
        "-O qcow2 -B base.qcow2 -F qcow2 -c -o preallocation=metadata",
        "-O qcow2 -n -o cluster_size=4k",
        "-O qcow2 --target-is-zero",
        "-O qcow2 -n",
        "-O qcow2 -n small.qcow2",
        "-O qcow2 -o compat=v9",
    })
    void errors(String argLine) throws IOException {
        rawSource("src.raw", 5);
        img("create", "-q", "-f", "qcow2", "base.qcow2", "1M");
        img("create", "-q", "-f", "qcow2", "small.qcow2", "1M");
        List<String> a = new ArrayList<>(List.of("convert", "-f", "raw"));
        List<String> words = new ArrayList<>(List.of(argLine.split(" ")));
        String targetName = words.get(words.size() - 1).endsWith(".qcow2") && words.contains("-n")
                ? words.remove(words.size() - 1) : "out.qcow2";
        a.addAll(words);
        a.add("src.raw");
        a.add(targetName);
        Qemu.Result qr = Qemu.img(q, a.toArray(String[]::new));
        Cli.Result or = Cli.runIn(o, a.toArray(String[]::new));
        assertThat(or.exitCode()).as(argLine).isEqualTo(qr.exitCode()).isEqualTo(1);
        assertThat(or.err().strip()).isEqualTo(qr.err().strip().replace("qemu-img: ", "q2: "));
        assertThat(Files.exists(o.resolve("out.qcow2"))).as("target left behind").isEqualTo(
                Files.exists(q.resolve("out.qcow2")));
    }
}
