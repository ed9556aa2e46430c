package dev.q2.create;

import dev.q2.testutil.Qemu;
import dev.q2.testutil.TwoFolders;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * qemu-img create -f raw (iotests 271, 125, ...): the same "Formatting" line, messages, exit code and file as
 * qemu-img, byte for byte and block for block (the file's length rounded to sectors, its first block written with
 * preallocation off, every block allocated with falloc and full), the refusals in qemu-img's order, and a raw file
 * usable as a backing file of a qcow2 image q2 creates.
 */
@Tag("qemu")
class RawCreateDifferentialTest {
    @TempDir
    Path tmp;

    @Test
    void filesAsQemuImgMakesThem() throws Exception {
        Qemu.assumeAvailable();
        for (String size : new String[] {"100000", "0", "1000", "4096", "1M"}) {
            for (String prealloc : new String[] {null, "off", "falloc", "full"}) {
                List<String> args = prealloc == null ? List.of("create", "-f", "raw", "t.raw", size)
                        : List.of("create", "-f", "raw", "-o", "preallocation=" + prealloc, "t.raw", size);
                TwoFolders both = TwoFolders.next(tmp);
                both.runBoth(args.toArray(String[]::new));
                both.sameFiles();
                assertThat(blocks(both.q2().resolve("t.raw"))).as(String.join(" ", args))
                        .isEqualTo(blocks(both.qemu().resolve("t.raw")));
            }
        }
        TwoFolders.sameInNewFolders(tmp, "create", "-f", "raw", "-o",
                "nocow=on,extent_size_hint=1M,preallocation=off,size=5k", "t.raw");
        TwoFolders.sameInNewFolders(tmp, "create", "-f", "raw", "-q", "file:t.raw", "1k");
        TwoFolders.sameInNewFolders(tmp, "create", "-f", "raw", "-o", "nocow=yes", "t.raw", "16T");
    }

    @Test
    void refusalsAsQemuImgRefusesThem() throws Exception {
        Qemu.assumeAvailable();
        String[][] cases = {
            {"-o", "preallocation=metadata", "t.raw", "1M"}, // the file is made (empty), then refused
            {"-o", "preallocation=bogus", "t.raw", "1M"},
            {"-o", "extent_size_hint=8G", "t.raw", "1k"},
            {"-o", "preallocation=bogus,extent_size_hint=8G", "t.raw", "1k"},
            {"-o", "preallocation=metadata,extent_size_hint=8G", "t.raw", "1k"},
            {"-o", "nocow=maybe", "t.raw", "1k"},
            {"-o", "cluster_size=4k", "t.raw", "1k"},
            {"-o", "size=abc", "t.raw"},
            {"-o", "extent_size_hint=abc", "t.raw", "1k"},
            {"-o", "size=1k", "t.raw", "2k"},
            {"-b", "x.raw", "t.raw", "1k"},
            {"-F", "raw", "t.raw", "1k"},
            {"-u", "-b", "x.raw", "-F", "raw", "t.raw", "1k"},
            {"t.raw"},
            {"foo:t.raw", "1k"},
            {"nonexistent/t.raw", "1k"},
            {"t.raw", "17592186040321"}, // past ext4's largest file: EFBIG
            {"t.raw", "9223372036854775807"}, // not a whole number of sectors below 2^63
            {"t.raw", "8E"},
            {"-o", "help"},
            {"-o", "help", "t.raw", "1k"},
        };
        for (String[] c : cases) {
            String[] args = new String[c.length + 3];
            args[0] = "create";
            args[1] = "-f";
            args[2] = "raw";
            System.arraycopy(c, 0, args, 3, c.length);
            TwoFolders.sameInNewFolders(tmp, args);
        }
    }

    @Test
    void anExistingFileIsCutFirst() throws Exception {
        Qemu.assumeAvailable();
        for (String o : new String[] {"preallocation=off", "preallocation=metadata"}) {
            TwoFolders both = TwoFolders.next(tmp);
            byte[] old = new byte[9000];
            new java.util.Random(1).nextBytes(old);
            Files.write(both.qemu().resolve("t.raw"), old);
            Files.write(both.q2().resolve("t.raw"), old);
            both.runBoth("create", "-f", "raw", "-o", o, "t.raw", "1k");
            both.sameFiles();
            assertThat(blocks(both.q2().resolve("t.raw"))).isEqualTo(blocks(both.qemu().resolve("t.raw")));
        }
        TwoFolders both = TwoFolders.next(tmp);
        Files.createDirectory(both.qemu().resolve("d.raw"));
        Files.createDirectory(both.q2().resolve("d.raw"));
        both.runBoth("create", "-f", "raw", "d.raw", "1k");
    }

    @Test
    void aRawFileOfQ2sMakingBacksAQcow2Image() throws Exception {
        Qemu.assumeAvailable();
        TwoFolders both = TwoFolders.next(tmp);
        both.runBoth("create", "-f", "raw", "b.raw", "1M");
        Qemu.ok(Qemu.io(both.q2(), Qemu.ioArgs("raw", "b.raw", "write -P 0x11 0 64k")));
        Qemu.ok(Qemu.io(both.qemu(), Qemu.ioArgs("raw", "b.raw", "write -P 0x11 0 64k")));
        both.runBoth("create", "-f", "qcow2", "-b", "b.raw", "-F", "raw", "t.qcow2");
        both.sameFiles();
        Qemu.ok(Qemu.io(both.q2(), Qemu.ioArgs(null, "t.qcow2", "read -P 0x11 0 64k", "read -P 0 64k 960k")));
    }

    /** st_blocks (stat -c %b). */
    private static long blocks(Path f) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("stat", "-c", "%b", f.toString()).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        assertThat(p.waitFor()).isZero();
        return Long.parseLong(out);
    }
}
