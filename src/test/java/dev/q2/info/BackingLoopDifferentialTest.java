package dev.q2.info;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A backing chain that names an image twice (iotest 043's three cases): {@code info --backing-chain} fails with
 * qemu-img's own line, "Backing file 'X' creates an infinite loop.", with no "Could not open" before it.
 */
@Tag("qemu")
class BackingLoopDifferentialTest extends QemuTest {
    @ParameterizedTest
    @ValueSource(strings = {"self", "parent", "ancestor"})
    void infoBackingChainReportsTheLoopAsQemuImg(String loop) {
        switch (loop) {
            case "self" -> {
                ok(img("create", "-q", "-f", "qcow2", "t.qcow2", "1M"));
                ok(img("rebase", "-u", "-b", "t.qcow2", "-F", "qcow2", "t.qcow2"));
            }
            case "parent" -> {
                ok(img("create", "-q", "-f", "qcow2", "base.qcow2", "1M"));
                ok(img("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "t.qcow2", "1M"));
                ok(img("rebase", "-u", "-b", "t.qcow2", "-F", "qcow2", "base.qcow2"));
            }
            default -> {
                ok(img("create", "-q", "-f", "qcow2", "1.qcow2", "1M"));
                ok(img("create", "-q", "-f", "qcow2", "-b", "1.qcow2", "-F", "qcow2", "2.qcow2", "1M"));
                ok(img("create", "-q", "-f", "qcow2", "-b", "2.qcow2", "-F", "qcow2", "3.qcow2", "1M"));
                ok(img("create", "-q", "-f", "qcow2", "-b", "3.qcow2", "-F", "qcow2", "t.qcow2", "1M"));
                ok(img("rebase", "-u", "-b", "2.qcow2", "-F", "qcow2", "1.qcow2"));
            }
        }
        for (String output : new String[] {"human", "json"}) {
            Qemu.Result q = Qemu.img(dir, "info", "--backing-chain", "--output=" + output, "t.qcow2");
            Cli.Result mine = Cli.runIn(dir, "info", "--backing-chain", "--output=" + output, "t.qcow2");
            assertThat(q.exitCode()).isEqualTo(1);
            assertThat(q.err()).contains("creates an infinite loop.");
            assertThat(mine.exitCode()).isEqualTo(q.exitCode());
            assertThat(mine.out()).isEqualTo(q.out());
            assertThat(mine.err()).isEqualTo(q.err().replace("qemu-img: ", "q2: "));
        }
    }
}
