package dev.q2.info;

import dev.q2.testutil.Cli;
import dev.q2.testutil.ImageBytes;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two backing format extensions, the second one "foo" (iotest 114 appends one with qcow2.py): QEMU reads them in
 * order and the last one wins, so info shows "foo" and opening the chain fails on the unknown driver.
 */
@Tag("qemu")
class DuplicateBackingFormatDifferentialTest extends QemuTest {
    private static final int BACKING_FORMAT = 0xe2792aca;

    @Test
    void theLastBackingFormatExtensionWins() throws IOException {
        ok(img("create", "-q", "-f", "qcow2", "base.qcow2", "64M"));
        ok(img("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "t.qcow2", "64M"));
        ImageBytes.appendExtensions(dir.resolve("t.qcow2"),
                ImageBytes.extension(BACKING_FORMAT, "foo".getBytes(StandardCharsets.US_ASCII)));
        assertThat(img("info", "t.qcow2").out()).contains("backing file format: foo");
        for (String[] args : new String[][] {
            {"info", "t.qcow2"}, {"map", "t.qcow2"}, {"check", "t.qcow2"},
        }) {
            Qemu.Result q = Qemu.img(dir, args);
            Cli.Result mine = Cli.runIn(dir, args);
            String out = mine.out();
            if (out.contains("L2 cache:\n")) {
                out = out.substring(0, out.indexOf("L2 cache:\n")); // q2's one addition to info (InfoFixtureTest)
            }
            assertThat(mine.exitCode()).as(String.join(" ", args)).isEqualTo(q.exitCode());
            assertThat(out).as(String.join(" ", args)).isEqualTo(q.out());
            assertThat(mine.err()).as(String.join(" ", args)).isEqualTo(q.err().replace("qemu-img: ", "q2: "));
        }
    }

}
