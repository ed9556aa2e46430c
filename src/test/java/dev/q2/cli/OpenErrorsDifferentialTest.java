package dev.q2.cli;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * check and info on a file that cannot be opened: the file protocol's words for an empty name and a folder, and
 * the name twice for a missing file, as qemu-img 7.2 prints them.
 */
@Tag("qemu")
class OpenErrorsDifferentialTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} ''{1}''")
    @CsvSource(delimiter = '|', value = {"check|missing.qcow2", "check|folder", "check|''", "info|missing.qcow2",
        "info|folder", "info|''", "check|folder/missing.qcow2", "info|folder/missing.qcow2"})
    void sameWordsAsQemuImg(String command, String name) throws Exception {
        Qemu.assumeAvailable();
        Files.createDirectories(dir.resolve("folder"));
        Qemu.Result q = Qemu.img(dir, command, name);
        Cli.Result mine = Cli.runIn(dir, command, name);
        assertThat(mine.err()).isEqualTo(q.err().replace("qemu-img: ", "q2: "));
        assertThat(mine.out()).isEqualTo(q.out());
        assertThat(mine.exitCode()).isEqualTo(q.exitCode());
    }
}
