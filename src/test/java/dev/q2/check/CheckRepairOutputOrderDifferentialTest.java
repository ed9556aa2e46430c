package dev.q2.check;

import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * check -r all with stdout and stderr in one pipe (iotest 271's 2>&1): qemu-img's stdout is buffered there, so the
 * "The following inconsistencies were found and repaired" banner comes out after what the double check prints on
 * stderr. q2, run as its own process, interleaves the two as qemu-img does.
 */
@Tag("qemu")
class CheckRepairOutputOrderDifferentialTest extends QemuTest {

    @Test
    void theRepairBannerFollowsTheDoubleChecksErrorsInOnePipe() throws Exception {
        img("create", "-q", "-f", "qcow2", "q.qcow2", "1M");
        Qemu.ioOk(dir, "q.qcow2", "write 0 64k");
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("q.qcow2").toFile(), "rw")) {
            f.seek(40);
            long l1 = f.readLong();
            f.seek(l1);
            long l2 = f.readLong() & 0x00fffffffffffe00L;
            f.seek(l2);
            long e = f.readLong();
            f.seek(l2);
            f.writeLong(e | 0x200); // a data cluster that is not aligned: a corruption the repair cannot fix
        }
        Files.copy(dir.resolve("q.qcow2"), dir.resolve("o.qcow2"));
        String want = merged(List.of("qemu-img", "check", "-r", "all", "q.qcow2"));
        List<String> q2 = new ArrayList<>(List.of(
                ProcessHandle.current().info().command().orElse("java"), "-cp", System.getProperty("java.class.path"),
                "dev.q2.cli.Main", "check", "-r", "all", "o.qcow2"));
        String got = merged(q2).replace("q2: ", "qemu-img: ");
        assertThat(want).contains("Double checking");
        assertThat(got).isEqualTo(want.replace("q.qcow2", "o.qcow2"));
    }

    private String merged(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }
}
