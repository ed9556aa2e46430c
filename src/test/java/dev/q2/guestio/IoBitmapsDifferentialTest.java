package dev.q2.guestio;

import dev.q2.testutil.BitmapReader;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * q2 io's commands that change the disk's size or write past it, on images with persistent dirty bitmaps, against
 * qemu-io 7.2: {@code truncate} (grow, shrink to a size inside a granule, the preallocation modes, shrink then grow
 * in one session) resizes the loaded bitmaps as bdrv_dirty_bitmap_truncate does (bits past a smaller end are gone
 * for good, a grown area starts clean, truncate itself sets no bit); {@code write -b}/{@code read -b} (the VM state
 * area, written by the driver below the block layer) set no bit; a bitmap already in use makes truncate fail as
 * qcow2_truncate_bitmaps_check does. Each case compares what the commands print, then the bitmap directory (names,
 * flags, granularity, table size) and every dirty bit read from the files, qemu-img info, and qemu-img check.
 */
@Tag("qemu")
class IoBitmapsDifferentialTest {
    @TempDir
    Path dir;

    @BeforeEach
    void needQemu() {
        Qemu.assumeAvailable();
    }

    private void make(String file, boolean inUse) throws Exception {
        run(Qemu.img(dir, "create", "-q", "-f", "qcow2", file, "64M"));
        run(Qemu.img(dir, "bitmap", "--add", "-g", "65536", file, "g64k"));
        run(Qemu.img(dir, "bitmap", "--add", "-g", "4096", file, "g4k"));
        run(Qemu.img(dir, "bitmap", "--add", "-g", "2M", file, "g2m"));
        run(Qemu.img(dir, "bitmap", "--add", "-g", "512", file, "off"));
        // bits near the start and at the end of the disk, in every bitmap
        run(Qemu.io(dir, "-c", "write -P 1 1M 64k", "-c", "write -P 2 " + ((63L << 20) + 4096) + " 1044480",
                file));
        run(Qemu.img(dir, "bitmap", "--disable", file, "off"));
        if (inUse) {
            int flags = BitmapReader.read(dir.resolve(file)).named("g4k").flags();
            BitmapReader.setFlags(dir.resolve(file), "g4k", flags | 1);
        }
    }

    private static void run(Qemu.Result r) {
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "truncate 128M; write -P 3 100M 64k; write -P 4 0 4k",
        "truncate 66060800; write -P 3 66056704 4096",
        "truncate 65538048; truncate 64M; write -P 3 66060288 4096",
        "truncate 40M; write -P 3 39M 64k; truncate 64M",
        "truncate 1M; truncate 64M",
        "truncate -m metadata 70M; write -P 3 69M 4k",
        "truncate -m falloc 66M",
        "truncate -m full 66M; write -z 65M 4k",
        "write -b 0 64k; read -b 0 64k; write -b -P 5 1M 4k; read -b -P 5 1M 4k; write -P 3 0 4k",
        "write -b 0 64k; truncate 32M; read -b 0 64k",
        "truncate 128M; write -b 0 4k; discard 1M 64k",
    })
    void sameBitmapsAsQemuIo(String script) throws Exception {
        compare(script, false);
    }

    @ParameterizedTest(name = "bitmap in use: {0}")
    @ValueSource(strings = {
        "truncate 128M; write -P 3 0 4k",
        "truncate 32M",
        "write -b 0 64k; write -P 3 0 4k",
    })
    void bitmapInUse(String script) throws Exception {
        compare(script, true);
    }

    /**
     * A session of qemu-io stores the bitmaps on close and frees the old directory, which ended the file: its bytes
     * stay there, unreferenced. A later preallocating grow puts data clusters over them. QEMU 7.2 leaves the old
     * bytes, so its guest reads a piece of bitmap directory in the new area; q2 zeroes them (the area must read as
     * zeros, as it does when qemu-io truncates in the session that loaded the bitmaps, which the test above
     * compares). The images stay clean for qemu-img check either way.
     */
    @ParameterizedTest(name = "resize --preallocation={0} after a session freed the directory")
    @ValueSource(strings = {"metadata", "falloc", "full"})
    void preallocatedAreaReadsZerosOverFreedClusters(String mode) throws Exception {
        make("o.qcow2", false);
        run(Qemu.io(dir, "-c", "read 0 4k", "o.qcow2"));
        Files.copy(dir.resolve("o.qcow2"), dir.resolve("q.qcow2"));
        run(Qemu.img(dir, "resize", "--preallocation=" + mode, "o.qcow2", "70M"));
        dev.q2.testutil.Cli.Result r = dev.q2.testutil.Cli.runIn(dir, "resize", "--preallocation=" + mode,
                "q.qcow2", "70M");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(Qemu.io(dir, "-c", "read -P 0 64M 6M", "o.qcow2").out())
                .as("qemu-img leaves the old bytes").contains("Pattern verification failed");
        run(Qemu.io(dir, "-c", "read -P 0 64M 6M", "q.qcow2"));
        run(Qemu.img(dir, "check", "q.qcow2"));
        assertThat(BitmapReader.read(dir.resolve("q.qcow2")).withoutLayout())
                .isEqualTo(BitmapReader.read(dir.resolve("o.qcow2")).withoutLayout());
    }

    /**
     * The library's resize, twice in one open (a shrink, then a grow), as qemu-io truncates twice in one session:
     * the bits the shrink dropped stay dropped (before, the grow read them back from the stored table).
     */
    @ParameterizedTest(name = "library: resize {0} in one open")
    @ValueSource(strings = {"65538048 66060288", "1048576 134217728", "40894464 67108864"})
    void resizeTwiceInOneOpen(String sizes) throws Exception {
        String[] n = sizes.split(" ");
        make("o.qcow2", false);
        Files.copy(dir.resolve("o.qcow2"), dir.resolve("q.qcow2"));
        run(Qemu.io(dir, "-c", "truncate " + n[0], "-c", "truncate " + n[1], "o.qcow2"));
        try (dev.q2.resize.Resizer.Open r = dev.q2.resize.Resizer.open(dir.resolve("q.qcow2"), "qcow2",
                new java.io.PrintWriter(java.io.Writer.nullWriter()))) {
            r.resize(Long.parseLong(n[0]), dev.q2.create.Preallocation.OFF);
            r.resize(Long.parseLong(n[1]), dev.q2.create.Preallocation.OFF);
        }
        assertThat(BitmapReader.read(dir.resolve("q.qcow2")).withoutLayout())
                .isEqualTo(BitmapReader.read(dir.resolve("o.qcow2")).withoutLayout());
        run(Qemu.img(dir, "check", "q.qcow2"));
        run(Qemu.img(dir, "compare", "o.qcow2", "q.qcow2"));
    }

    private void compare(String script, boolean inUse) throws Exception {
        make("o.qcow2", inUse);
        Files.copy(dir.resolve("o.qcow2"), dir.resolve("q.qcow2"));
        List<String> args = new ArrayList<>();
        for (String c : script.split("; ")) {
            args.add("-c");
            args.add(c);
        }
        args.add("q.qcow2");
        // qemu-io writes q.qcow2 first; then q2 io runs the same on its copy
        Qemu.Result q = Qemu.io(dir, args.toArray(String[]::new));
        Files.move(dir.resolve("q.qcow2"), dir.resolve("qemu.qcow2"));
        Files.copy(dir.resolve("o.qcow2"), dir.resolve("q.qcow2"));
        Qemu.Result ours = IoComparisonOnCopy.run(dir, args, q);
        Path qemu = dir.resolve("qemu.qcow2");
        Path q2 = dir.resolve("q.qcow2");

        BitmapReader.Bitmaps expected = BitmapReader.read(qemu);
        BitmapReader.Bitmaps actual = BitmapReader.read(q2);
        assertThat(actual.withoutLayout()).as(script).isEqualTo(expected.withoutLayout());
        assertThat(info(q2)).as(script).isEqualTo(info(qemu));
        Qemu.Result c = Qemu.img(dir, "check", "q.qcow2");
        Qemu.Result cq = Qemu.img(dir, "check", "qemu.qcow2");
        assertThat(c.exitCode()).as(c.out() + c.err()).isEqualTo(cq.exitCode());
        assertThat(c.out().replaceAll("Image end offset: \\d+", "")).as(script)
                .isEqualTo(cq.out().replaceAll("Image end offset: \\d+", ""));
        run(Qemu.img(dir, "compare", "qemu.qcow2", "q.qcow2"));
        assertThat(ours.exitCode()).isEqualTo(q.exitCode());
    }

    /** qemu-img info without the lines that name the file or count its host clusters. */
    private String info(Path image) {
        Qemu.Result r = Qemu.img(dir, "info", image.getFileName().toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        return r.out().replaceAll("(?m)^(image|disk size):.*\n", "");
    }

    /** q2 io on q.qcow2 with what qemu-io printed compared (IoComparison without running qemu-io again). */
    private static final class IoComparisonOnCopy {
        static Qemu.Result run(Path dir, List<String> args, Qemu.Result qemu) {
            List<String> ours = new ArrayList<>(args);
            ours.add(0, "io");
            dev.q2.testutil.Cli.Result r = dev.q2.testutil.Cli.runIn(dir, ours.toArray(String[]::new));
            String what = String.join(" ", args);
            assertThat(r.out().replaceAll("ops; .*", "ops; X")).as(what)
                    .isEqualTo(qemu.out().replaceAll("ops; .*", "ops; X"));
            assertThat(r.err().replace("q2: ", "")).as(what).isEqualTo(qemu.err().replace("qemu-io: ", ""));
            return new Qemu.Result(r.exitCode(), r.out(), r.err());
        }
    }
}
