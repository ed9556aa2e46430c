package dev.q2.convert;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * q2 convert -n into existing raw targets against qemu-img convert -n with the same arguments: the same exit code,
 * stdout and stderr (q2 says "q2:" where qemu-img says "qemu-img:"), byte-identical target files, and the same
 * holes in them (qemu-img map of the target as a raw file: zero areas of the source become punched holes, what lies
 * past the source's end keeps its bytes and its blocks). Each tool works in its own folder, on inputs made there
 * by the same commands (a copy would not keep holes and zero clusters as they are).
 */
@Tag("qemu")
class ConvertRawTargetDifferentialTest extends TwoFolderConvertTest {
    private static final long SIZE = 6L << 20;

    private void io(String image, String... cmds) {
        both.io(null, image, cmds);
    }

    /** A qcow2 image without a backing file: data, zero clusters, zeros written as data, unallocated areas. */
    private void flatQcow2(String name, String opts) {
        img("create", "-q", "-f", "qcow2", "-o", opts, name, Long.toString(SIZE));
        io(name, "write -P 0x41 0 1M", "write -z 64k 192k", "write -P 0 1M 100k", "write -P 0x42 1200k 3k",
                "write -P 0x43 1300k 40k", "write -z 2M 1M", "write -P 0x44 3500k 64k", "discard 3520k 16k",
                "write -P 0x45 6000k 144k");
    }

    /** A sparse raw file with data, zeros written as data, short zero gaps and holes, not 512-aligned in size. */
    private void rawSource(String name, long size, long seed) throws IOException {
        randomRaw(name, size, size, seed);
        for (Path d : List.of(q, o)) {
            try (RandomAccessFile f = new RandomAccessFile(d.resolve(name).toFile(), "rw")) {
                // the last partial sector holds data, so the target's last sector is written whole
                f.seek(size - 10);
                f.write(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
            }
        }
    }

    // ------------------------------------------------------------------ the comparison

    /** Runs qemu-img convert and q2 convert with {@code args} and checks that they agree in every way. */
    private Qemu.Result convertBoth(String target, String... args) throws IOException {
        List<String> a = new ArrayList<>(List.of("convert"));
        a.addAll(List.of(args));
        Qemu.Result qr = runBoth(a.toArray(String[]::new));
        sameTarget(String.join(" ", a), q.resolve(target), o.resolve(target));
        return qr;
    }

    /** Byte-identical targets with holes in the same places. */
    private static void sameTarget(String what, Path qemuTarget, Path q2Target) throws IOException {
        assertThat(Files.exists(q2Target)).as(what).isEqualTo(Files.exists(qemuTarget));
        if (!Files.exists(qemuTarget) || Files.isDirectory(qemuTarget)) {
            return;
        }
        assertThat(Files.size(q2Target)).as(what).isEqualTo(Files.size(qemuTarget));
        assertThat(Files.mismatch(qemuTarget, q2Target)).as(what).isEqualTo(-1L);
        assertThat(rawMap(q2Target)).as(what + ": holes").isEqualTo(rawMap(qemuTarget));
    }

    private static String rawMap(Path file) {
        Qemu.Result m = Qemu.img(file.getParent(), "map", "--output=json", "-f", "raw", "-U",
                file.getFileName().toString());
        assertThat(m.exitCode()).as(m.err()).isZero();
        return m.out();
    }

    // ------------------------------------------------------------------ cases

    @ParameterizedTest(name = "raw source of {0} bytes into {1} bytes, {2}")
    @CsvSource(delimiter = '|', value = {
        "6291156|6291156|-f raw",
        "6291156|6291000|-f raw -O raw",
        "6291156|7340032|-f raw",
        "6291156|6291456|-f raw --target-is-zero",
    })
    void rawSource(long size, long targetSize, String flags) throws IOException {
        rawSource("src.raw", size, size ^ targetSize);
        target("out.raw", targetSize, 2L << 20);
        List<String> args = new ArrayList<>(List.of("-n"));
        args.addAll(List.of(flags.split(" ")));
        args.addAll(List.of("src.raw", "out.raw"));
        convertBoth("out.raw", args.toArray(String[]::new));
        if (targetSize < roundUp(size)) {
            // a write into the last, partial sector grows the file to whole sectors, as it does in QEMU
            assertThat(Files.size(o.resolve("out.raw"))).isEqualTo(roundUp(size));
        }
    }

    @ParameterizedTest(name = "qcow2 source -o {0} into {1} bytes")
    @CsvSource(delimiter = '|', value = {
        "cluster_size=64k|6291456",
        "cluster_size=4k|9437184",
        "extended_l2=on|6291456",
        "cluster_size=2M|8388608",
    })
    void qcow2Source(String opts, long targetSize) throws IOException {
        flatQcow2("src.qcow2", opts);
        target("out.raw", targetSize, 3L << 20);
        convertBoth("out.raw", "-n", "src.qcow2", "out.raw");
        // past the source's end the target keeps its bytes
        if (targetSize > SIZE) {
            byte[] tail = Files.readAllBytes(o.resolve("out.raw"));
            for (long i = SIZE; i < targetSize; i += 4096) {
                assertThat(tail[(int) i]).isEqualTo((byte) 0xaa);
            }
        }
    }

    @ParameterizedTest(name = "chain into raw: {0}")
    @CsvSource(delimiter = '|', value = {
        "-n",
        "-n -O raw -p",
        "-n -q --target-is-zero",
        "-n -B mid.qcow2 -F qcow2",
        "-n -B nope.qcow2",
    })
    void backingChain(String flags) throws IOException {
        chain(null, SIZE);
        target("out.raw", SIZE + (1 << 20), 1L << 20);
        List<String> args = new ArrayList<>(List.of(flags.split(" ")));
        args.addAll(List.of("top.qcow2", "out.raw"));
        convertBoth("out.raw", args.toArray(String[]::new)); // -p: qemu-img's progress lines, every one

        if (flags.contains("-B")) {
            // only the top layer is copied: what top.qcow2 leaves to its backing file keeps the target's bytes
            assertThat(Files.readAllBytes(o.resolve("out.raw"))[0]).isEqualTo((byte) 0xaa);
        }
    }

    @Test
    void largeSparseTargetKeepsItsTail() throws IOException {
        // a disk-sized target: 1 GiB, mostly a hole, with data where the source ends and at its own end
        chain(null, SIZE);
        for (Path d : List.of(q, o)) {
            try (RandomAccessFile f = new RandomAccessFile(d.resolve("disk.raw").toFile(), "rw")) {
                f.setLength(1L << 30);
                byte[] b = new byte[3 << 20];
                Arrays.fill(b, (byte) 0x5a);
                f.seek(SIZE - (1 << 20));
                f.write(b);
                f.seek((1L << 30) - b.length);
                f.write(b);
            }
        }
        convertBoth("disk.raw", "-n", "top.qcow2", "disk.raw");
    }

    /** qemu-img's message and exit code for the errors of -n into raw, in qemu-img's order. */
    @ParameterizedTest(name = "error: {0}")
    @CsvSource(delimiter = '|', value = {
        "-n -o preallocation=off src.qcow2 out.raw",
        "-n -c src.qcow2 out.raw",
        "-n -c -O raw src.qcow2 nope.raw",
        "-n src.qcow2 nope.raw",
        "-n src.qcow2 folder",
        "-n nope.qcow2 out.raw",
        "-n folder out.raw",
        "-n src.qcow2 small.raw",
        "-n -O raw src.qcow2 short.raw",
        "-n src.qcow2 qcow2-file.qcow2",
    })
    void errors(String argLine) throws IOException {
        flatQcow2("src.qcow2", "cluster_size=64k");
        target("out.raw", SIZE, -1);
        target("small.raw", 1 << 20, -1);
        target("short.raw", SIZE - 512, -1);
        img("create", "-q", "-f", "qcow2", "qcow2-file.qcow2", Long.toString(SIZE));
        Files.createDirectory(q.resolve("folder"));
        Files.createDirectory(o.resolve("folder"));
        List<String> args = List.of(argLine.split(" "));
        Qemu.Result r = convertBoth(args.get(args.size() - 1), args.toArray(String[]::new));
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).isNotBlank();
    }

    // ------------------------------------------------------------------ locks

    @Test
    void aTargetHeldByAWriterThatSharesIsWritten() throws Exception {
        // qemu-io takes "consistent read" and "write" and shares everything: qemu-img convert -n writes anyway
        chain(null, SIZE);
        target("out.raw", SIZE, -1);
        try (Qemu.Holder a = Qemu.holdForWriting(q, "raw", "out.raw");
             Qemu.Holder b = Qemu.holdForWriting(o, "raw", "out.raw")) {
            convertBoth("out.raw", "-n", "top.qcow2", "out.raw");
        }
    }

    @Test
    void aTargetHeldByAReaderThatRefusesWritersIsRefused() throws Exception {
        // the source of a running qemu-img convert refuses to share "write": the target cannot be opened (-U only
        // applies to the source)
        chain(null, SIZE);
        target("out.raw", SIZE, -1);
        String[] reader = {"qemu-img", "convert", "-r", "4096", "-f", "raw", "-O", "raw", "out.raw", "slow.raw"};
        try (Qemu.Holder a = Qemu.hold(q, "out.raw", reader); Qemu.Holder b = Qemu.hold(o, "out.raw", reader)) {
            Qemu.Result r = convertBoth("out.raw", "-n", "-U", "top.qcow2", "out.raw");
            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.err()).contains("Failed to get \"write\" lock");
        }
    }

    @Test
    void aQcow2TargetHeldByQemuIoIsRefused() throws Exception {
        // unlike raw, the qcow2 driver does not share writes to its file: qemu-io's hold refuses -n -O qcow2
        chain(null, SIZE);
        img("create", "-q", "-f", "qcow2", "out.qcow2", Long.toString(SIZE));
        try (Qemu.Holder a = Qemu.holdForWriting(q, "out.qcow2"); Qemu.Holder b = Qemu.holdForWriting(o, "out.qcow2")) {
            Qemu.Result r = convertBoth("out.qcow2", "-n", "-O", "qcow2", "top.qcow2", "out.qcow2");
            assertThat(r.exitCode()).isEqualTo(1);
        }
    }

    /**
     * QEMU sees its own locks: a target that is the source, or one of the source's backing files, is refused, with
     * or without -n, and nothing is written (before q2 kept a list of its own holds, it overwrote such a source).
     */
    @ParameterizedTest(name = "onto the source: {0}")
    @CsvSource(delimiter = '|', value = {
        "-n -f raw src.raw src.raw",
        "-n -O raw top.qcow2 base.qcow2",
        "-n -O raw onraw.qcow2 src.raw",
        "-n -O qcow2 top.qcow2 mid.qcow2",
        "-f raw src.raw src.raw",
        "-O qcow2 top.qcow2 top.qcow2",
        "-O raw top.qcow2 mid.qcow2",
    })
    void ontoTheSourceOrItsBackingFile(String argLine) throws IOException {
        chain(null, SIZE);
        rawSource("src.raw", SIZE, 5);
        img("create", "-q", "-f", "qcow2", "-b", "src.raw", "-F", "raw", "onraw.qcow2", Long.toString(SIZE));
        List<String> args = List.of(argLine.split(" "));
        String target = args.get(args.size() - 1);
        byte[] before = Files.readAllBytes(o.resolve(target));
        Qemu.Result r = convertBoth(target, args.toArray(String[]::new));
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("Failed to get \"write\" lock");
        assertThat(Files.readAllBytes(o.resolve(target))).isEqualTo(before);
    }

    // ------------------------------------------------------------------ a block device

    @Test
    void aLoopDeviceTarget() throws Exception {
        // Runs where loop devices can be attached (root); each tool writes its own device, whose backing file
        // gets the same bytes and the same holes (hole punching on a loop device punches its file).
        chain(null, SIZE);
        target("dev.img", 8L << 20, -1);
        String qDev = attachLoop(q.resolve("dev.img"));
        assumeTrue(qDev != null, "cannot attach a loop device here");
        String oDev = null;
        try {
            oDev = attachLoop(o.resolve("dev.img"));
            assumeTrue(oDev != null, "cannot attach a second loop device here");
            Qemu.Result qr = Qemu.img(q, "convert", "-n", "top.qcow2", qDev);
            Cli.Result or = Cli.runIn(o, "convert", "-n", "top.qcow2", oDev);
            assertThat(or.exitCode()).as(or.err()).isEqualTo(qr.exitCode()).isZero();
            assertThat(or.err()).isEqualTo(qr.err());
        } finally {
            detachLoop(qDev);
            detachLoop(oDev);
        }
        sameTarget("-n into a loop device", q.resolve("dev.img"), o.resolve("dev.img"));
    }

    private static String attachLoop(Path file) {
        try {
            Process p = new ProcessBuilder("losetup", "-f", "--show", file.toString()).redirectErrorStream(true)
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0 && out.startsWith("/dev/") ? out : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private static void detachLoop(String dev) throws Exception {
        if (dev != null) {
            new ProcessBuilder("losetup", "-d", dev).inheritIO().start().waitFor(20, TimeUnit.SECONDS);
        }
    }

    private static long roundUp(long n) {
        return (n + 511) / 512 * 512;
    }
}
