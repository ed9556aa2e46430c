package dev.q2.info;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** q2 honours the locks of a running QEMU (here qemu-io holding the image for writing) as qemu-img does. */
@Tag("qemu")
class LockDifferentialTest {
    @TempDir
    Path dir;

    @Test
    void infoRefusesAnImageHeldForWritingUnlessForceShare() throws Exception {
        Qemu.assumeAvailable();
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "img.qcow2", "64M");
        try (Qemu.Holder holder = Qemu.holdForWriting(dir, "img.qcow2")) {
            Qemu.Result qemu = Qemu.img(dir, "info", "img.qcow2");
            Cli.Result q2 = Cli.runIn(dir, "info", "img.qcow2");
            assertThat(qemu.exitCode()).isEqualTo(1);
            assertThat(q2.exitCode()).isEqualTo(1);
            assertThat(q2.err()).startsWith("q2: Could not open 'img.qcow2': Failed to get shared \"write\" lock");
            assertThat(qemu.err()).contains("Failed to get shared \"write\" lock");

            Cli.Result shared = Cli.runIn(dir, "info", "-U", "img.qcow2");
            assertThat(shared.exitCode()).isZero();

            Cli.Result writer = Cli.runIn(dir, "io", "-c", "write 0 4k", "img.qcow2");
            assertThat(writer.exitCode()).isEqualTo(1);
            assertThat(writer.err()).contains("Failed to get \"write\" lock");

            Cli.Result create = Cli.runIn(dir, "create", "-q", "img.qcow2", "1G");
            assertThat(create.exitCode()).isEqualTo(1);
            assertThat(create.err()).contains("Failed to get \"write\" lock");
        }
    }

    @Test
    void qemuSeesTheLocksQ2Holds() throws Exception {
        Qemu.assumeAvailable();
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "img.qcow2", "64M");
        try (var ch = java.nio.channels.FileChannel.open(dir.resolve("img.qcow2"));
             var lock = dev.q2.io.QemuLock.acquire(ch, dir.resolve("img.qcow2"), 0,
                     dev.q2.io.QemuLock.PERM_ALL & ~(dev.q2.io.QemuLock.PERM_WRITE
                             | dev.q2.io.QemuLock.PERM_RESIZE))) {
            Qemu.Result writer = Qemu.io(dir, "-c", "write 0 4k", "img.qcow2");
            assertThat(writer.exitCode() != 0 || writer.err().contains("lock")).as(writer.err()).isTrue();
            assertThat(writer.err()).contains("Failed to get \"write\" lock");
            Qemu.Result reader = Qemu.img(dir, "info", "img.qcow2");
            assertThat(reader.exitCode()).isZero();
        }
    }
}
