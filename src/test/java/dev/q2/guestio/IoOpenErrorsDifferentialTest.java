package dev.q2.guestio;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** q2 io refuses what qemu-io cannot open with qemu-io's words ("can't open device F: ...") and exit code. */
@Tag("qemu")
class IoOpenErrorsDifferentialTest {
    @TempDir
    Path dir;

    private void same(String... args) {
        Qemu.Result q = Qemu.io(dir, args);
        String[] ours = new String[args.length + 1];
        ours[0] = "io";
        System.arraycopy(args, 0, ours, 1, args.length);
        Cli.Result r = Cli.runIn(dir, ours);
        String what = String.join(" ", args);
        assertThat(q.exitCode()).as(what).isNotZero();
        assertThat(r.err().replace("q2: ", "")).as(what).isEqualTo(q.err().replace("qemu-io: ", ""));
        assertThat(r.exitCode()).as(what).isEqualTo(q.exitCode());
    }

    @Test
    void openErrors() throws Exception {
        Qemu.assumeAvailable();
        Files.createDirectory(dir.resolve("folder"));
        Files.writeString(dir.resolve("junk.qcow2"), "not an image\n");
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "held.qcow2", "4M");
        same("-c", "read 0 512", "missing.qcow2");
        same("-c", "read 0 512", "folder");
        same("-c", "read 0 512", "");
        same("-f", "qcow2", "-c", "read 0 512", "junk.qcow2");
        // a backing file that is gone (iotest 069), named as the image names it, relative to the image's folder
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "gone.base", "128k");
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "-b", "gone.base", "-F", "qcow2", "top.qcow2", "128k");
        Files.delete(dir.resolve("gone.base"));
        same("-c", "quit", "top.qcow2");
        same("-r", "-c", "read 0 512", "top.qcow2");
        Files.createDirectory(dir.resolve("sub"));
        Files.copy(dir.resolve("top.qcow2"), dir.resolve("sub/top.qcow2"));
        same("-c", "quit", "sub/top.qcow2");
        try (Qemu.Holder holder = Qemu.holdForWriting(dir, "held.qcow2")) {
            same("-c", "write 0 512", "held.qcow2");
            same("-r", "-c", "read 0 512", "held.qcow2");
        }
    }
}
