package dev.q2.info;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

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
        appendBackingFormat(dir.resolve("t.qcow2"), "foo");
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

    /** Inserts a backing format extension before the end marker and moves the backing file name after it. */
    private static void appendBackingFormat(Path image, String format) throws IOException {
        byte[] file = Files.readAllBytes(image);
        ByteBuffer h = ByteBuffer.wrap(file);
        long nameOffset = h.getLong(8);
        int nameSize = h.getInt(16);
        byte[] name = new byte[nameSize];
        System.arraycopy(file, (int) nameOffset, name, 0, nameSize);
        int pos = h.getInt(100); // header_length: the extensions follow
        while (h.getInt(pos) != 0) {
            pos += 8 + ((h.getInt(pos + 4) + 7) & ~7);
        }
        byte[] fmt = format.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer tail = ByteBuffer.allocate(8 + ((fmt.length + 7) & ~7) + 8 + nameSize);
        tail.putInt(BACKING_FORMAT).putInt(fmt.length).put(fmt);
        tail.position(8 + ((fmt.length + 7) & ~7));
        tail.putLong(0); // end of the extensions
        int newNameOffset = pos + tail.position();
        tail.put(name);
        System.arraycopy(tail.array(), 0, file, pos, tail.capacity());
        h.putLong(8, newNameOffset);
        Files.write(image, file);
    }
}
