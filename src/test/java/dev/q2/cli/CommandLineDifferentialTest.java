package dev.q2.cli;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Top-level mistakes (no command, an unknown one) answered with qemu-img's lines and exit code. */
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
}
