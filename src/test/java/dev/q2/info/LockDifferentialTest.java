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
    void everyCommandRefusesAnImageHeldForWritingWithQemusLines() throws Exception {
        Qemu.assumeAvailable();
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "img.qcow2", "64M");
        try (Qemu.Holder holder = Qemu.holdForWriting(dir, "img.qcow2")) {
            // qemu-img's two lines, word for word, for each command that reads or replaces the image
            String[][] commands = {
                {"info", "img.qcow2"},
                {"info", "--output=json", "img.qcow2"},
                {"check", "img.qcow2"},
                {"map", "img.qcow2"},
                {"compare", "img.qcow2", "img.qcow2"},
                {"convert", "-O", "raw", "img.qcow2", "out.raw"},
                {"create", "-q", "-f", "qcow2", "img.qcow2", "1G"},
            };
            for (String[] c : commands) {
                Qemu.Result qemu = Qemu.img(dir, c);
                String[] ours = c[0].equals("create") ? new String[] {"create", "-q", "img.qcow2", "1G"} : c;
                Cli.Result q2 = Cli.runIn(dir, ours);
                String what = String.join(" ", c);
                assertThat(qemu.err()).as(what).contains("lock\nIs another process using the image [img.qcow2]?");
                assertThat(q2.err().replace("q2: ", "")).as(what).isEqualTo(qemu.err().replace("qemu-img: ", ""));
                assertThat(q2.exitCode()).as(what).isEqualTo(qemu.exitCode()).isNotZero();
            }

            Cli.Result shared = Cli.runIn(dir, "info", "-U", "img.qcow2");
            assertThat(shared.exitCode()).isZero();

            Cli.Result writer = Cli.runIn(dir, "io", "-c", "write 0 4k", "img.qcow2");
            assertThat(writer.exitCode()).isEqualTo(1);
            assertThat(writer.err()).isEqualTo("q2: can't open device img.qcow2: Failed to get \"write\" lock\n"
                    + "Is another process using the image [img.qcow2]?\n");
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
