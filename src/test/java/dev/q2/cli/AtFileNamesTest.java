package dev.q2.cli;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * "@name" is a file name, as in qemu-img, not one of picocli's argument files (CliArgsFuzzTest found
 * {@code amend @.} printing picocli's stack trace; {@code info @disk.qcow2} read the image as a list of arguments).
 */
class AtFileNamesTest {
    @TempDir
    Path dir;

    @Test
    void anAtNameIsAFileName() throws Exception {
        assertThat(Cli.runIn(dir, "create", "-q", "@disk.qcow2", "1M").exitCode()).isZero();
        assertThat(Files.exists(dir.resolve("@disk.qcow2"))).isTrue();
        Cli.Result info = Cli.runIn(dir, "info", "@disk.qcow2");
        assertThat(info.exitCode()).as(info.err()).isZero();
        assertThat(info.out()).startsWith("image: @disk.qcow2\nfile format: qcow2\n");
        Files.writeString(dir.resolve("args"), "info\n");
        Cli.Result command = Cli.runIn(dir, "@args", "@disk.qcow2");
        assertThat(command.exitCode()).isEqualTo(1);
        assertThat(command.err()).startsWith("q2: Command not found: @args\n");
    }

    @Test
    void anUnreadableAtNameIsAnOrdinaryOpenError() {
        Cli.Result r = Cli.runIn(dir, "amend", "-o", "compat=1.1", "@.");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("q2: Could not open '@.': Could not open '@.': No such file or directory\n");
        Cli.Result noOptions = Cli.runIn(dir, "amend", "@.");
        assertThat(noOptions.exitCode()).isEqualTo(1);
        assertThat(noOptions.err()).doesNotContain("\tat ").doesNotContain("argument file");
    }

    @Test
    void sameAsQemuImg() {
        Qemu.assumeAvailable();
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "@q.qcow2", "1M");
        Cli.Result q2 = Cli.runIn(dir, "check", "@q.qcow2");
        Qemu.Result qemu = Qemu.img(dir, "check", "@q.qcow2");
        assertThat(q2.out()).isEqualTo(qemu.out());
        assertThat(q2.exitCode()).isEqualTo(qemu.exitCode()).isZero();
        Cli.Result q2err = Cli.runIn(dir, "amend", "-o", "compat=1.1", "@.");
        Qemu.Result qemuErr = Qemu.img(dir, "amend", "-o", "compat=1.1", "@.");
        assertThat(q2err.err().replace("q2:", "qemu-img:")).isEqualTo(qemuErr.err());
    }
}
