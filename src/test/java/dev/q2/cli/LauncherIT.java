package dev.q2.cli;

import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's first commands through the {@code ./q2} launcher and the jar {@code mvn package} just built: the
 * JVM flags, the start-up archive and the JNI helper the launcher points q2 at are all in play here, which the
 * in-process tests do not see.
 */
class LauncherIT {
    private static final Path LAUNCHER = Path.of(System.getProperty("user.dir")).resolve("q2").toAbsolutePath();

    @TempDir
    Path dir;

    record Run(int exitCode, String out, String err) {
    }

    @Test
    void readmeCommandsWorkThroughTheLauncher() throws Exception {
        Run version = q2("--version");
        assertThat(version.exitCode()).as(version.err()).isZero();
        assertThat(version.out()).startsWith("q2 version");

        Run create = q2("create", "-o", "extended_l2=on,cluster_size=128k", "img.qcow2", "1T");
        assertThat(create.exitCode()).as(create.err()).isZero();
        assertThat(create.out()).startsWith("Formatting 'img.qcow2', fmt=qcow2 cluster_size=131072 extended_l2=on");

        Run info = q2("info", "img.qcow2");
        assertThat(info.exitCode()).as(info.err()).isZero();
        assertThat(info.out()).contains("virtual size: 1 TiB (1099511627776 bytes)", "L2 cache:",
                "l2-cache-size=");
        assertThat(info.err()).isEmpty();

        Run bad = q2("info", "missing.qcow2");
        assertThat(bad.exitCode()).isEqualTo(1);
        assertThat(bad.err().strip()).doesNotContain("\n").startsWith("q2: Could not open 'missing.qcow2'");
    }

    @Test
    void infoThroughTheLauncherHonoursARunningQemusLocks() throws Exception {
        Qemu.assumeAvailable();
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "held.qcow2", "64M");
        try (Qemu.Holder holder = Qemu.holdForWriting(dir, "held.qcow2")) {
            Run refused = q2("info", "held.qcow2");
            assertThat(refused.exitCode()).isEqualTo(1);
            assertThat(refused.err()).contains("Failed to get shared \"write\" lock");
            Run shared = q2("info", "-U", "held.qcow2");
            assertThat(shared.exitCode()).as(shared.err()).isZero();
        }
    }

    private Run q2(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(LAUNCHER.toString());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectOutput(dir.resolve(".out").toFile()).redirectError(dir.resolve(".err").toFile()).start();
        // The first run may record the start-up archive (a warm-up of every command): allow for it.
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("./q2 " + String.join(" ", args) + " did not finish");
        }
        return new Run(p.exitValue(), Files.readString(dir.resolve(".out"), StandardCharsets.UTF_8),
                Files.readString(dir.resolve(".err"), StandardCharsets.UTF_8));
    }
}
