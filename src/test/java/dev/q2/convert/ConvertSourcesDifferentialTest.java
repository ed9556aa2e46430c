package dev.q2.convert;

import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * q2 convert with several sources (concatenated into one target) and with {@code -l} (a source's internal snapshot)
 * against qemu-img convert with the same arguments: the same exit code, stdout and stderr, and targets byte for byte
 * qemu-img's (qcow2 and raw, whose holes are compared through qemu-img map). Iotests 029 and 122 use both.
 */
@Tag("qemu")
class ConvertSourcesDifferentialTest extends TwoFolderConvertTest {

    private static String[] args(String... words) {
        List<String> a = new ArrayList<>(List.of("convert"));
        for (String w : words) {
            if (!w.isBlank()) {
                a.addAll(List.of(w.trim().split(" +")));
            }
        }
        return a.toArray(String[]::new);
    }

    /** Both tools convert; the exit codes, outputs and (when made) the targets must be the same. */
    private Qemu.Result convertBoth(String target, String... words) throws IOException {
        String[] a = args(words);
        String what = String.join(" ", a);
        Qemu.Result qr = runBoth(a);
        Path qt = q.resolve(target);
        Path ot = o.resolve(target);
        assertThat(Files.exists(ot)).as(what + ": target made").isEqualTo(Files.exists(qt));
        if (Files.exists(qt)) {
            assertThat(Files.mismatch(qt, ot)).as(what + ": target bytes").isEqualTo(-1L);
            String fmt = isQcow2(qt) ? "qcow2" : "raw";
            assertThat(map(o, target, fmt)).as(what + ": map").isEqualTo(map(q, target, fmt));
        }
        return qr;
    }

    private static boolean isQcow2(Path f) throws IOException {
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "r")) {
            return r.length() >= 4 && r.readInt() == 0x514649fb;
        }
    }

    private static String map(Path d, String image, String format) {
        Qemu.Result m = Qemu.img(d, "map", "--output=json", "-f", format, image);
        assertThat(m.exitCode()).as(m.err()).isZero();
        return m.out();
    }

    // ------------------------------------------------------------------ several sources

    /** Iotest 122's three 4 MiB images with 64 KiB of data each, plus a raw one of 1000 bytes and an empty one. */
    private void threeImages() throws IOException {
        for (int i = 1; i <= 3; i++) {
            img("create", "-q", "-f", "qcow2", "t." + i, "4M");
            both.io("qcow2", "t." + i, "write -P 0x" + i + i + " 0 64k", "write -z 1M 64k", "write -P 0 2M 64k");
        }
        img("create", "-q", "-f", "raw", "r.raw", "1000");
        both.io("raw", "r.raw", "write -P 0x55 0 1000");
        img("create", "-q", "-f", "raw", "empty.raw", "0");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-O qcow2", "-c -O qcow2", "-O raw", "-O raw -S 4k", "-O raw -S 0", "-O qcow2 -S 0",
        "-O qcow2 -S 64k", "-O qcow2 -o cluster_size=512", "-c -O qcow2 -o cluster_size=4k",
        "-O qcow2 -o compat=0.10", "-O qcow2 -o extended_l2=on"})
    void concatenated(String flags) throws IOException {
        threeImages();
        convertBoth("out", flags, "t.1 t.2 t.3 out");
        convertBoth("out", flags, "r.raw t.1 empty.raw r.raw t.2 r.raw out");
        convertBoth("out", flags, "-f qcow2", "t.3 t.3 out"); // the same image twice
    }

    /** Iotest 122's compression with misaligned allocations and image sizes: 1023k, 1 KiB clusters. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-c -O qcow2", "-O qcow2", "-O raw", "-c -O qcow2 -o cluster_size=2k"})
    void misalignedSizes(String flags) throws IOException {
        for (int i = 1; i <= 2; i++) {
            img("create", "-q", "-f", "qcow2", "-o", "cluster_size=1024", "t." + i, "1023k");
        }
        both.io("qcow2", "t.1", "write -P 0x11 16k 16k", "write -P 0x22 130k 130k", "write -P 0x33 1022k 1k");
        both.io("qcow2", "t.2", "write -P 0x44 0k 1k");
        convertBoth("out", flags, "t.1 t.2 out");
    }

    @Test
    void sourcesWithBackingFiles() throws IOException {
        chain(null, 6L << 20);
        convertBoth("out", "-O qcow2", "top.qcow2 mid.qcow2 base.qcow2 out");
        convertBoth("out", "-O raw -S 4k", "mid.qcow2 top.qcow2 out");
    }

    @ParameterizedTest(name = "-n {0}")
    @ValueSource(strings = {"-O raw", "-O raw -S 0", "-O raw --target-is-zero", "-O qcow2"})
    void intoExistingTarget(String flags) throws IOException {
        threeImages();
        if (flags.contains("qcow2")) {
            // empty: into allocated clusters q2 frees and reuses clusters in another order (see compatibility.md)
            img("create", "-q", "-f", "qcow2", "out", "13M");
        } else {
            target("out", 13L << 20, flags.contains("target-is-zero") ? -1 : 5L << 20);
        }
        if (flags.contains("target-is-zero")) {
            img("create", "-q", "-f", "raw", "out", "13M"); // reads as zeros
        }
        convertBoth("out", "-n", flags, "t.1 r.raw t.2 t.3 out");
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(strings = {
        "-O qcow2 -B t.1 -F qcow2 t.2 t.3 new", "-O qcow2 -c -B t.1 t.2 t.3 new", "-O raw -B t.1 t.2 t.3 new",
        "-O qcow2 -o backing_file=t.1,backing_fmt=qcow2 t.2 t.3 new", "-n -B t.1 t.2 t.3 small",
        "-n -O qcow2 t.1 t.2 smallq", "-n t.1 t.2 small", "-O qcow2 --bitmaps t.1 t.2 new",
        "-O qcow2 -B t.1 --bitmaps t.2 t.3 new", "-p t.1 missing new", "-p missing t.1 new", "t.1 missing new",
        "-O qcow2 t.1 t.2 t.3 t.3", "", "t.1", "-p t.1", "-n -o cluster_size=4k t.1", "-T bogus t.1",
        "-l snap t.1 t.2 new", "-l snapshot.id=1 t.1 t.2 new", "-l snap missing t.1 new",
    })
    void refused(String words) throws IOException {
        threeImages();
        img("create", "-q", "-f", "raw", "small", "8M");
        img("create", "-q", "-f", "qcow2", "smallq", "8M");
        convertBoth("new", words);
    }

    // ------------------------------------------------------------------ -p: qemu-img's progress lines

    /**
     * Iotest 086's image (1 MiB of data at 0, 2, 4 and 32 MiB of 128 MiB) and the three small ones: qemu-img's
     * progress counts the data steps (and zero steps with -S 0) against the total of its first pass, draws a line
     * when it moved by more than one percent, and draws 100 again at the end; every line must be the same.
     */
    @ParameterizedTest(name = "-p {0}")
    @ValueSource(strings = {"-O qcow2 big", "-O raw big", "-c -O qcow2 big", "-S 0 -O qcow2 big", "-O raw -S 4k big",
        "-O qcow2 -B t.1 -F qcow2 big", "-O qcow2 t.1 t.2 r.raw t.3", "-c -O qcow2 r.raw t.1 r.raw t.2",
        "-O raw t.1 t.2 t.3", "-q -O qcow2 big", "-O qcow2 empty.raw"})
    void progress(String flags) throws IOException {
        threeImages();
        img("create", "-q", "-f", "qcow2", "big", "128M");
        both.io("qcow2", "big", "write 0 1M", "write 2M 1M", "write 4M 1M", "write 32M 1M");
        convertBoth("out", "-p", flags, "out");
        img("create", "-q", "-f", "raw", "ex.raw", "140M");
        if (!flags.contains("-O qcow2") && !flags.contains("-c")) {
            convertBoth("ex.raw", "-p -n", flags.replace("-O raw", ""), "ex.raw"); // into an existing raw file
        }
    }

    // ------------------------------------------------------------------ -l: a source's internal snapshot

    /**
     * s.qcow2 (8 MiB, then grown to 16 MiB) with snapshots 1 "one" and 2 "two" of different data, and active data
     * past the snapshots' size; built once and copied, as snapshots carry the time they were taken.
     */
    private void snapshots() throws IOException, InterruptedException {
        both.buildOnce("qemu-img create -q -f qcow2 s.qcow2 8M\n"
                + "qemu-io -c 'write -P 0x11 0 1M' -c 'write -P 0x12 3M 64k' s.qcow2 >/dev/null\n"
                + "qemu-img snapshot -c one s.qcow2\n"
                + "qemu-io -c 'write -P 0x21 512k 1M' -c 'write -z 3M 64k' -c 'discard 0 64k' s.qcow2 >/dev/null\n"
                + "qemu-img snapshot -c two s.qcow2\n"
                + "qemu-img resize -q s.qcow2 16M\n"
                + "qemu-io -c 'write -P 0x31 10M 1M' s.qcow2 >/dev/null\n"
                + "qemu-img create -q -f qcow2 t.qcow2 1M\n"
                + "qemu-io -c 'write -P 0x41 0 64k' t.qcow2 >/dev/null\n");
    }

    @ParameterizedTest(name = "-l {0}")
    @ValueSource(strings = {"one", "two", "1", "2", "snapshot.id=1", "snapshot.name=two",
        "snapshot.id=1,snapshot.name=one", "snapshot.id=2,", "snapshot.name=one -l two", "two -l snapshot.id=1"})
    void snapshot(String l) throws IOException, InterruptedException {
        snapshots();
        for (String flags : List.of("-O qcow2", "-O raw", "-O raw -S 4k", "-c -O qcow2", "-O qcow2 -S 0")) {
            convertBoth("out", flags, "-l " + l, "s.qcow2 out");
        }
        Files.delete(q.resolve("out"));
        Files.delete(o.resolve("out"));
        convertBoth("out", "-O qcow2 -l " + l, "s.qcow2 t.qcow2 out"); // snapshot.*: the first source's
    }

    @ParameterizedTest(name = "-l {0}")
    @ValueSource(strings = {"three", "3", "''", "snapshot.id=1,snapshot.name=two", "snapshot.id=9",
        "snapshot.name=a,,b", "snapshot.id=1,,", "snapshot.id", "snapshot.name", "snapshot.", "snapshot.foo=1",
        "snapshot.id=1,bar", "snapshot.id=9 -l one", "one -l snapshot.id=9", "one -f raw", "one -O bogus",
        "one -S 1000", "one -S 1000 -l snapshot.x", "snapshot.x -S 1000", "one -p -l snapshot.id=9"})
    void snapshotRefused(String l) throws IOException, InterruptedException {
        snapshots();
        String[] a = args("-O qcow2 -l " + l.replace("''", "EMPTY"), "s.qcow2 out");
        for (int i = 0; i < a.length; i++) {
            a[i] = a[i].equals("EMPTY") ? "" : a[i];
        }
        String what = String.join(" ", a);
        runBoth(a);
        assertThat(Files.exists(o.resolve("out"))).as(what).isEqualTo(Files.exists(q.resolve("out")));
    }

    /**
     * A snapshot whose L1 table QEMU refuses: an unaligned offset (EINVAL, after which a lookup by ID tries the name:
     * {@code -l 1} then finds the snapshot named "1", which is another one) and a size past QCOW_MAX_L1_SIZE (EFBIG,
     * no second try). measure -l loads the same way.
     */
    @ParameterizedTest(name = "snapshot 1''s L1 table {0}")
    @ValueSource(strings = {"offset", "size"})
    void snapshotL1Refused(String what) throws IOException, InterruptedException {
        both.buildOnce("qemu-img create -q -f qcow2 p.qcow2 1M\n"
                + "qemu-io -c 'write -P 1 0 64k' p.qcow2 >/dev/null\n"
                + "qemu-img snapshot -c x p.qcow2\n"
                + "qemu-io -c 'write -P 2 0 64k' p.qcow2 >/dev/null\n"
                + "qemu-img snapshot -c 1 p.qcow2\n");
        for (Path d : List.of(q, o)) {
            Path f = d.resolve("p.qcow2");
            try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
                r.seek(64);
                long table = r.readLong(); // the first entry is snapshot 1 "x"
                if (what.equals("offset")) {
                    r.seek(table);
                    r.writeLong(r.readLong() + 512);
                } else {
                    r.seek(table + 8);
                    r.writeInt(0x01000000);
                }
            }
        }
        for (String l : List.of("1", "x", "2", "snapshot.id=1", "snapshot.name=1", "snapshot.name=x")) {
            convertBoth("out", "-O qcow2 -l " + l, "p.qcow2 out");
            Files.deleteIfExists(q.resolve("out"));
            Files.deleteIfExists(o.resolve("out"));
            measureBoth("-l", l, "p.qcow2");
        }
    }

    /** measure by both tools: the same exit code, stderr and stdout up to the L2 cache section q2 adds. */
    private void measureBoth(String... words) {
        List<String> a = new ArrayList<>(List.of("measure", "-O", "qcow2"));
        a.addAll(List.of(words));
        String what = String.join(" ", a);
        Qemu.Result qr = Qemu.img(q, a.toArray(String[]::new));
        dev.q2.testutil.Cli.Result or = dev.q2.testutil.Cli.runIn(o, a.toArray(String[]::new));
        assertThat(or.exitCode()).as(what).isEqualTo(qr.exitCode());
        assertThat(or.err()).as(what).isEqualTo(qr.err().replace("qemu-img: ", "q2: "));
        String out = or.out();
        int cut = out.indexOf("L2 cache:");
        assertThat(cut < 0 ? out : out.substring(0, cut)).as(what).isEqualTo(qr.out());
    }

    /**
     * Iotest 029: the snapshot's L1 table, not the active one, sizes the reads (the header says 512 bytes and one
     * L1 entry; the snapshot has 2048).
     */
    @Test
    void snapshotL1LargerThanActive() throws IOException, InterruptedException {
        both.buildOnce("qemu-img create -q -f qcow2 -o cluster_size=512 t.qcow2 64M\n"
                + "qemu-io -c 'write -P 0x11 0 4k' t.qcow2 >/dev/null\n"
                + "qemu-img snapshot -c foo t.qcow2\n");
        for (Path d : List.of(q, o)) {
            try (RandomAccessFile r = new RandomAccessFile(d.resolve("t.qcow2").toFile(), "rw")) {
                r.seek(24);
                r.writeLong(512); // size
                r.seek(36);
                r.writeInt(1); // l1_size
            }
        }
        convertBoth("t.snap", "-l foo", "t.qcow2 t.snap");
        convertBoth("t.snapq", "-O qcow2 -l foo", "t.qcow2 t.snapq");
    }
}
