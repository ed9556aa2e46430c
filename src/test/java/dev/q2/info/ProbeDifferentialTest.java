package dev.q2.info;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Format probing as qemu-img 7.2 probes: the qcow2 magic makes a file qcow2 only with a version of at least 2
 * (compared unsigned), so version 0 is raw; the probe and the header are read zero-padded, so a file shorter than
 * a header is probed and opened like any other (its missing bytes read as zeros: "Unsupported cluster size: 2^0",
 * "qcow2 header too short"). info, check, map, convert and compare answer as qemu-img does.
 */
@Tag("qemu")
class ProbeDifferentialTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "version {0}, first {1} bytes")
    @CsvSource({"0, 65536", "0, 1024", "-1, -1", "5, -1", "3, 8", "3, 50", "3, 72", "3, 100", "2, 16"})
    void probedAndOpenedAsByQemuImg(int version, int length) throws Exception {
        Qemu.assumeAvailable();
        assertThat(Qemu.img(dir, "create", "-q", "-f", "qcow2", "-o",
                version == 2 ? "compat=0.10" : "compat=1.1", "src.qcow2", "1M").exitCode()).isZero();
        byte[] b = Files.readAllBytes(dir.resolve("src.qcow2"));
        ByteBuffer.wrap(b).putInt(4, version);
        Files.write(dir.resolve("f.img"), length < 0 ? b : Arrays.copyOf(b, length));
        String[][] commands = {{"info", "f.img"}, {"check", "f.img"}, {"map", "--output=json", "f.img"},
            {"compare", "f.img", "f.img"}, {"convert", "-O", "raw", "f.img", "OUT.raw"}};
        ReadCommands.sameAsQemuImg(dir, "", commands);
    }

    /**
     * Version 1 is QEMU's old qcow format: qemu-img probes it as qcow (its own driver), and so does q2, which reads
     * its header for info and check (here a qcow2 header patched to version 1 fails qcow's cluster size check in
     * both) and refuses it by name elsewhere, never as raw.
     */
    @Test
    void qcowVersion1IsProbedAsQcow() throws Exception {
        Qemu.assumeAvailable();
        assertThat(Qemu.img(dir, "create", "-q", "-f", "qcow2", "src.qcow2", "1M").exitCode()).isZero();
        byte[] b = Files.readAllBytes(dir.resolve("src.qcow2"));
        ByteBuffer.wrap(b).putInt(4, 1);
        Files.write(dir.resolve("f.img"), b);
        for (String[] c : new String[][] {{"info", "f.img"}, {"check", "f.img"}}) {
            Qemu.Result q = Qemu.img(dir, c);
            Cli.Result r = Cli.runIn(dir, c);
            assertThat(r.exitCode()).as(c[0]).isEqualTo(q.exitCode()).isEqualTo(1);
            assertThat(r.err()).as(c[0]).isEqualTo(q.err().replace("qemu-img: ", "q2: "));
        }
        for (String[] c : new String[][] {{"map", "f.img"}, {"convert", "-O", "raw", "f.img", "m.raw"}}) {
            Cli.Result r = Cli.runIn(dir, c);
            assertThat(r.exitCode()).as(c[0]).isEqualTo(1);
            assertThat(r.err()).as(c[0]).isEqualTo("q2: Could not open 'f.img': q2 cannot read qcow images yet\n");
        }
    }
}
