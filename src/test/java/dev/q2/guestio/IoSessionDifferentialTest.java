package dev.q2.guestio;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.TwoFolders;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * q2 io and qemu-io side by side on copies of one image, for the commands that change what is open or how:
 * {@code truncate} (iotest 025), {@code reopen} (133 137 187), {@code sigraise} (039 061), snapshot mode -s (052)
 * and copy-on-read -C (197): the same stdout (timings masked), stderr and exit code, and images that qemu-img finds
 * the same afterwards (check, map, compare, or their bytes).
 */
@Tag("qemu")
class IoSessionDifferentialTest {
    @TempDir
    Path dir;

    /** Makes t.qcow2 in both folders with {@code setup} (a shell script run in each), runs the args, compares. */
    private TwoFolders same(String setup, String... args) throws Exception {
        return sameIo(dir, setup, args);
    }

    /**
     * In two new folders of {@code dir}, runs {@code setup} (a shell script) in each, then qemu-io and q2 io with
     * {@code args}: the same stdout (timings masked), stderr and exit code.
     */
    static TwoFolders sameIo(Path dir, String setup, String... args) throws Exception {
        Qemu.assumeAvailable();
        TwoFolders pair = TwoFolders.next(dir);
        for (Path d : List.of(pair.qemu(), pair.q2())) {
            TwoFolders.sh(d, setup);
        }
        Qemu.Result expected = Qemu.io(pair.qemu(), args);
        List<String> ours = new ArrayList<>(List.of(args));
        ours.add(0, "io");
        Cli.Result actual = Cli.runIn(pair.q2(), ours.toArray(String[]::new));
        String what = String.join(" ", args);
        assertThat(masked(actual.out())).as(what).isEqualTo(masked(expected.out()));
        assertThat(actual.err().replace("q2: ", "")).as(what).isEqualTo(expected.err().replace("qemu-io: ", ""));
        assertThat(actual.exitCode()).as(what).isEqualTo(expected.exitCode());
        return pair;
    }

    /** The statistics vary from run to run (the iotests mask them too); -C's machine line as well. */
    static String masked(String s) {
        return s.replaceAll("ops; .*", "ops; X").replaceAll("(?m)^(\\d+,\\d+),[0-9:.]+,.*$", "$1,X");
    }

    private static final String IMAGE = "qemu-img create -q -f qcow2 t.qcow2 128M && qemu-io -c 'write -P 0xc5 0 1M'"
            + " -c 'write -P 0x11 100M 64k' t.qcow2 >/dev/null";

    /** The two results: qemu-img check and map (JSON) print the same, and qemu-img compare finds them identical. */
    private static void sameImages(TwoFolders pair, String image) {
        for (String[] cmd : List.of(new String[] {"check", image}, new String[] {"map", "--output=json", image},
                new String[] {"info", image})) {
            Qemu.Result a = Qemu.img(pair.qemu(), cmd);
            Qemu.Result b = Qemu.img(pair.q2(), cmd);
            assertThat(b.out()).as(String.join(" ", cmd)).isEqualTo(a.out());
            assertThat(b.exitCode()).as(String.join(" ", cmd)).isEqualTo(a.exitCode());
        }
        Qemu.ok(Qemu.img(pair.q2(), "compare", image, pair.qemu().resolve(image).toString()));
    }

    @Test
    void truncateGrowsAndShrinksAsQemuIo() throws Exception {
        sameImages(same(IMAGE, "-c", "length", "-c", "truncate 384M", "-c", "length", "-c", "read -P 0 1M 1M",
                "t.qcow2"), "t.qcow2");
        sameImages(same(IMAGE, "-c", "truncate 512", "-c", "length", "-c", "truncate 64M", "-c",
                "read -P 0 0 64k", "t.qcow2"), "t.qcow2");       // qemu-io shrinks without --shrink
        sameImages(same(IMAGE, "-c", "t 200M", "-c", "truncate -m metadata 256M", "-c", "map", "t.qcow2"),
                "t.qcow2");
        // (not falloc: q2 leaves the new area sparse where QEMU fallocates it, and qemu-img map then tells them apart)
        sameImages(same(IMAGE, "-c", "truncate -m full 131M", "-c", "length", "t.qcow2"), "t.qcow2");
        sameImages(same(IMAGE, "-c", "truncate 2M 3M", "-c", "length", "t.qcow2"), "t.qcow2"); // extra operands
    }

    @Test
    void truncateRefusesAsQemuIo() throws Exception {
        same(IMAGE, "-c", "truncate", "-c", "truncate 1 2 3 4", "-c", "truncate -m foo 1M", "-c", "truncate 1000",
                "-c", "truncate x", "-c", "truncate 9E", "-c", "truncate -1", "-c", "length", "t.qcow2");
        same(IMAGE, "-r", "-c", "truncate 2M", "-c", "truncate -m foo x", "t.qcow2");
        same(IMAGE + " && qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 1M && qemu-img snapshot -c s v2.qcow2",
                "-c", "truncate 2M", "-c", "length", "v2.qcow2");
    }

    @Test
    void reopenSwitchesBetweenReadOnlyAndReadWrite() throws Exception {
        String img = "qemu-img create -q -f qcow2 t.qcow2 64M";
        same(img, "-r", "-c", "write 0 64k", "t.qcow2");
        same(img, "-r", "-c", "reopen -w", "-c", "write 0 64k", "t.qcow2");
        same(img, "-r", "-c", "reopen -w", "-c", "reopen -r", "-c", "write 0 64k", "t.qcow2");
        same(img, "-c", "reopen -r", "-c", "write 0 64k", "-c", "truncate 1M", "-c", "reopen -w", "-c",
                "write 0 64k", "t.qcow2");
        sameImages(same(img, "-c", "reopen -c none -w", "-c", "reopen -o read-only=off", "-c", "write 64k 64k",
                "-c", "reopen", "-c", "write -z 64k 4k", "t.qcow2"), "t.qcow2");
    }

    @Test
    void reopenChecksOptionsAsQemuIo() throws Exception {
        String img = "qemu-img create -q -f qcow2 b.qcow2 64M && qemu-img create -q -f qcow2 -b b.qcow2 -F qcow2"
                + " t.qcow2";
        List<String> cmds = List.of("reopen -r -w", "reopen -w -r", "reopen -x", "reopen foo", "reopen -c bogus",
                "reopen -o foo=bar", "reopen -o node-name=foo", "reopen -o file.node-name=foo",
                "reopen -o backing.node-name=foo", "reopen -o driver=raw", "reopen -o file.driver=qcow2",
                "reopen -o backing.driver=file", "reopen -o driver=qcow2", "reopen -o file.driver=file",
                "reopen -o backing.driver=qcow2", "reopen -r -o read-only=on", "reopen -w -o read-only=on",
                "reopen -c none -o cache.direct=on", "reopen -c directsync -o cache.no-flush=on",
                "reopen -o read-only=foo", "reopen -o cache.no-flush=bar", "reopen -o cache.direct=baz",
                "reopen -o auto-read-only=qux", "reopen -o lazy-refcounts=42",
                "reopen -o cache-size=1M,l2-cache-size=64k,refcount-cache-size=64k",
                "reopen -o cache-size=1M,l2-cache-size=2M", "reopen -o cache-size=1M,refcount-cache-size=2M",
                "reopen -o l2-cache-entry-size=33k", "reopen -o l2-cache-entry-size=128k",
                "reopen -o refcount-cache-size=256T", "reopen -o overlap-check=constant,overlap-check.template=all",
                "reopen -o overlap-check=blubb", "reopen -o overlap-check.template=blubb",
                "reopen -o cache-clean-interval=-1", "reopen -o cache-clean-interval=abc",
                "reopen -o overlap-check.foo=on", "reopen -o overlap-check.main-header=x", "reopen -o discard=foo",
                "reopen -o detect-zeroes=foo", "reopen -o file.filename=x", "reopen -o data-file=x",
                "write -P 7 0 64k");
        for (String c : cmds) {
            same(img, "-c", c, "-c", "read -P 0 0 512", "t.qcow2");
        }
        // the options qemu's reopen takes; the cache sizes are one group (the second reopen drops cache-size)
        same(img, "-c", "reopen -o lazy-refcounts=on,pass-discard-request=on", "-c", "reopen -o overlap-check=all",
                "-c", "reopen -o overlap-check.template=none,overlap-check.inactive-l2=on", "-c",
                "reopen -o cache-size=1M", "-c", "reopen -o l2-cache-size=512k", "-c",
                "reopen -o refcount-cache-size=128k", "-c", "reopen -o l2-cache-entry-size=4k,cache-clean-interval=5",
                "-c", "write -P 55 0 1M", "-c", "read -P 55 0 1M", "-c", "discard 0 1M", "t.qcow2");
        same(img, "-c", "open -o node-name=foo t.qcow2", "-c", "reopen -o node-name=foo", "-c", "reopen");
    }

    @Test
    void snapshotModeLeavesTheImageAsItWas() throws Exception {
        // (no reopen: QEMU deletes the overlay at once, and then cannot reopen it)
        TwoFolders pair = same(IMAGE, "-s", "-c", "write -P 0xa 0 2M", "-c", "read -P 0xa 0 2M", "-c",
                "truncate 1G", "-c", "length", "-c", "read -P 0xa 1M 1M", "t.qcow2");
        byte[] q = Files.readAllBytes(pair.qemu().resolve("t.qcow2"));
        assertThat(Files.readAllBytes(pair.q2().resolve("t.qcow2"))).isEqualTo(q);
        TwoFolders.sh(pair.qemu(), IMAGE.replace("t.qcow2", "orig.qcow2"));
        assertThat(Files.readAllBytes(pair.q2().resolve("t.qcow2")))
                .isEqualTo(Files.readAllBytes(pair.qemu().resolve("orig.qcow2")));
        same(IMAGE, "-c", "open -s t.qcow2", "-c", "write -P 1 0 64k", "-c", "close", "-c", "open -r t.qcow2",
                "-c", "read -P 0xc5 0 64k");
        same(IMAGE, "-s", "-c", "write -P 2 0 64k", "-c", "read -P 2 0 64k", "-c", "read -P 0x11 100M 64k",
                "t.qcow2");
    }

    private static final String WRAP = "qemu-img create -q -f qcow2 b.qcow2 4G && qemu-io -c 'write -P 55 3G 1k'"
            + " b.qcow2 >/dev/null && qemu-img create -q -f qcow2 -b b.qcow2 -F qcow2 t.qcow2"
            + " && qemu-io -c 'write -z -u 1M 64k' -c 'write -P 7 8M 4k' t.qcow2 >/dev/null";

    @Test
    void copyOnReadCopiesWhatTheBackingFileProvides() throws Exception {
        TwoFolders pair = same(WRAP, "-C", "-c", "read 0 0", "-c", "read -P 0 1k 8M", "-c",
                "read -P 0 3221226496 1k", "-c", "read -P 55 3G 1k", "t.qcow2");
        sameAfterRebase(pair);
        pair = same(WRAP, "-c", "open -C t.qcow2", "-c", "read -P 0 1M 128k", "-c", "read 8M 12k");
        sameAfterRebase(pair);
        same(WRAP, "-C", "-r", "t.qcow2");
        same(WRAP, "-c", "open -C -r t.qcow2");
        // without a backing file too: the last, partial cluster becomes a zero cluster
        pair = same("qemu-img create -q -f qcow2 -o compat=1.1 t.qcow2 1024", "-C", "-c", "read 0 1024",
                "t.qcow2");
        sameImages(pair, "t.qcow2");
    }

    /** With the backing file cut off, both images map and read the same. */
    private static void sameAfterRebase(TwoFolders pair) {
        for (Path d : List.of(pair.qemu(), pair.q2())) {
            Qemu.imgOk(d, "rebase", "-u", "-b", "", "-f", "qcow2", "t.qcow2");
        }
        Qemu.Result a = Qemu.io(pair.qemu(), "-c", "map", "t.qcow2");
        Qemu.Result b = Qemu.io(pair.q2(), "-c", "map", "t.qcow2");
        assertThat(b.out()).isEqualTo(a.out());
        sameImages(pair, "t.qcow2");
    }

    @Test
    void sigraiseArgumentsAsQemuIo() throws Exception {
        same(IMAGE, "-c", "sigraise", "-c", "sigraise x", "-c", "sigraise 99", "-c", "sigraise 4294967297", "-c",
                "sigraise -5", "-c", "sigraise 0", "-c", "sigraise 65", "-c", "sigraise 17", "-c", "length",
                "t.qcow2");
        same(IMAGE, "-c", "sigraise 1k", "-c", "length", "t.qcow2");
        same("true", "-c", "sigraise 0", "-c", "length");
    }

    /** A script run inside an application may not end it: sigraise fails there, and halts only when told to. */
    @Test
    void sigraiseEndsTheProcessOnlyWhereAllowed() throws Exception {
        Qemu.assumeAvailable();
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "e.qcow2", "1M");
        java.io.StringWriter out = new java.io.StringWriter();
        PrintWriter w = new PrintWriter(out, true);
        try (dev.q2.image.Qcow2Disk disk = dev.q2.image.Qcow2Disk.open(dir.resolve("e.qcow2"),
                dev.q2.image.DiskOptions.readWrite())) {
            IoScript script = new IoScript(disk, w);
            script.run("sigraise 9");
            assertThat(script.failed()).isTrue();
            assertThat(out.toString()).isEqualTo("q2 io: sigraise would end the process; this script may not\n");
            int[] status = new int[1];
            script.onHalt(s -> status[0] = s);
            script.run("sigraise 15");
            assertThat(status[0]).isEqualTo(143);
        }
    }

    /** q2 io in a JVM of its own (sigraise ends the process). */
    private static Qemu.Result q2Process(Path cwd, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.q2.cli.Main", "io"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectError(cwd.resolve("err.txt").toFile())
                .redirectOutput(cwd.resolve("out.txt").toFile()).start();
        int rc = p.waitFor();
        return new Qemu.Result(rc, Files.readString(cwd.resolve("out.txt")), Files.readString(cwd.resolve("err.txt")));
    }

    /**
     * sigraise 9 after a write: the process ends with status 137 and leaves the image exactly as a killed qemu-io
     * leaves it, byte for byte: with lazy refcounts the dirty bit set and the data cluster's refcount not written
     * (iotest 039), without them a clean image; a flush before the kill (061) and a reopen that turns lazy refcounts
     * on or off (039) included.
     */
    @Test
    void sigraiseLeavesTheImageAsAKilledQemuIo() throws Exception {
        Qemu.assumeAvailable();
        String lazy = "qemu-img create -q -f qcow2 -o compat=1.1,lazy_refcounts=on t.qcow2 128M";
        String eager = "qemu-img create -q -f qcow2 -o compat=1.1,lazy_refcounts=off t.qcow2 128M";
        List<String[]> cases = List.of(
                new String[] {lazy, "-c", "write -P 0x5a 0 512", "-c", "sigraise 9"},
                new String[] {lazy, "-t", "writethrough", "-c", "write -P 0x5a 0 512", "-c", "write 200M 4k", "-c",
                    "sigraise 9"},
                new String[] {lazy, "-c", "write -P 0x2a 0 128k", "-c", "flush", "-c", "sigraise 9"},
                new String[] {eager, "-c", "write -P 0x5a 0 512", "-c", "sigraise 9"},
                new String[] {eager, "-c", "reopen -o lazy-refcounts=on", "-c", "write -P 0x5a 0 512", "-c",
                    "sigraise 9"},
                new String[] {lazy, "-c", "reopen -o lazy-refcounts=off", "-c", "write -P 0x5a 0 512", "-c",
                    "sigraise 9"},
                new String[] {lazy, "-c", "sigraise 15"});
        for (String[] c : cases) {
            TwoFolders pair = TwoFolders.next(dir);
            List<String> args = new ArrayList<>(List.of(c).subList(1, c.length));
            args.add("t.qcow2");
            TwoFolders.sh(pair.qemu(), c[0]);
            TwoFolders.sh(pair.q2(), c[0]);
            Qemu.Result expected = Qemu.io(pair.qemu(), args.toArray(String[]::new));
            Qemu.Result actual = q2Process(pair.q2(), args.toArray(String[]::new));
            String what = String.join(" ", args);
            assertThat(actual.exitCode()).as(what).isEqualTo(expected.exitCode());
            assertThat(masked(actual.out())).as(what).isEqualTo(masked(expected.out()));
            assertThat(Files.readAllBytes(pair.q2().resolve("t.qcow2"))).as(what)
                    .isEqualTo(Files.readAllBytes(pair.qemu().resolve("t.qcow2")));
        }
    }
}
