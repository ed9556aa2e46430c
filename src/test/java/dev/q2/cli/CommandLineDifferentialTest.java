package dev.q2.cli;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Command-line mistakes (no command, an unknown one, an unknown option) answered with qemu-img's lines and exit code. */
@Tag("qemu")
class CommandLineDifferentialTest {
    @TempDir
    Path dir;

    @Test
    void noCommandAndUnknownCommand() {
        Qemu.assumeAvailable();
        for (String[] args : new String[][] {{}, {"frobnicate", "x.qcow2"}}) {
            Qemu.Result q = Qemu.img(dir, args);
            Cli.Result r = Cli.runIn(dir, args);
            String what = String.join(" ", args);
            assertThat(r.exitCode()).as(what).isEqualTo(q.exitCode()).isEqualTo(1);
            assertThat(r.out()).as(what).isEqualTo(q.out());
            assertThat(r.err().replace("q2", "PROG")).as(what).isEqualTo(q.err().replace("qemu-img", "PROG"));
        }
    }

    /**
     * An option the command does not have: qemu-img's getopt line naming the word as typed and the hint to --help,
     * exit 1. convert -s (a snapshot, removed before 7.2) and -U where 7.2 has none (iotest 153).
     */
    @Test
    void unknownOption() throws Exception {
        Qemu.assumeAvailable();
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "a.qcow2", "1M");
        for (String[] args : new String[][] {{"convert", "-s", "snap", "-O", "qcow2", "a.qcow2", "b.qcow2"},
                {"convert", "-cs", "-O", "qcow2", "a.qcow2", "b.qcow2"},
                {"convert", "--foo=bar", "a.qcow2", "b.qcow2"},
                {"amend", "-o", "size=32M", "-U", "a.qcow2"}, {"resize", "-U", "a.qcow2", "32M"},
                {"commit", "-U", "a.qcow2"}}) {
            Qemu.Result q = Qemu.img(dir, args);
            Cli.Result r = Cli.runIn(dir, args);
            String what = String.join(" ", args);
            assertThat(r.exitCode()).as(what).isEqualTo(q.exitCode()).isEqualTo(1);
            assertThat(r.out()).as(what).isEqualTo(q.out());
            assertThat(r.err().replace("q2", "PROG")).as(what).isEqualTo(q.err().replace("qemu-img", "PROG"));
        }
        assertThat(dir.resolve("b.qcow2")).doesNotExist();
    }
}
