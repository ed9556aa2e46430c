package dev.q2.fuzz;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What q2 answers on the images of fuzz findings, against qemu-img on the same image: the regression inputs only
 * pin that no foreign exception escapes; this pins the words and the exit code of the fix.
 */
@Tag("qemu")
class FuzzFindingsDifferentialTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource({
        // a bitmap table at an offset with bit 63 set: the block layer refuses the read (was "Negative position")
        "CheckFuzzTestInputs/check/crash-1277ee0712ae60d350932229c0646efa57358f0e, check",
        "CheckFuzzTestInputs/check/crash-1277ee0712ae60d350932229c0646efa57358f0e, info",
        // refcount_order 0xffff0004 is an unsigned field: too large (was IllegalArgumentException in check)
        "CheckFuzzTestInputs/check/crash-d8eb071ed3edffa598de96d972cc462cf7d6db31, check",
        "CheckFuzzTestInputs/check/crash-d8eb071ed3edffa598de96d972cc462cf7d6db31, info",
        // an L1 table offset with bit 63 set passes the end-of-file test (a negative difference, as in QEMU) and the
        // in-memory refcounts cannot grow that far: Check failed (was IllegalArgumentException "too many clusters")
        "CheckFuzzTestInputs/check/crash-4bc90cdd62c775bec467a61fd5c82a9721587b44, check",
    })
    void sameAsQemuImg(String input, String command) throws Exception {
        Qemu.assumeAvailable();
        write(input, "img.qcow2");
        Qemu.Result q = Qemu.img(dir, command, "img.qcow2");
        Cli.Result o = Cli.runIn(dir, command, "img.qcow2");
        assertThat(o.err()).isEqualTo(q.err().replace("qemu-img:", "q2:"));
        assertThat(o.out()).isEqualTo(q.out());
        assertThat(o.exitCode()).isEqualTo(q.exitCode());
    }

    /**
     * A refcount table entry 7 TiB into the file: check -r all grows the file there and then would rebuild a
     * refcount table of 58 million entries (an OutOfMemoryError with a small heap). qemu-img gives up earlier, on its
     * refcount array; both end with the same failure and exit code.
     */
    @Test
    void hugeRebuiltRefcountTableFailsLikeQemuImg() throws Exception {
        Qemu.assumeAvailable();
        String input = "CheckFuzzTestInputs/repair/timeout-f2788571c67033a2e030644a064b6ce3efe3258c";
        write(input, "q.qcow2");
        write(input, "o.qcow2");
        Qemu.Result q = Qemu.img(dir, "check", "-r", "all", "q.qcow2");
        Cli.Result o = Cli.runIn(dir, "check", "-r", "all", "o.qcow2");
        assertThat(o.exitCode()).isEqualTo(q.exitCode()).isEqualTo(1);
        assertThat(lastLine(o.err())).isEqualTo("q2: Check failed: Cannot allocate memory");
        assertThat(lastLine(q.err())).isEqualTo("qemu-img: Check failed: Cannot allocate memory");
        assertThat(o.err()).contains("q2: ERROR allocating reftable memory");
    }

    private static String lastLine(String s) {
        List<String> lines = s.lines().toList();
        return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
    }

    private void write(String input, String name) throws Exception {
        try (InputStream in = getClass().getResourceAsStream(input)) {
            assertThat(in).as(input).isNotNull();
            Files.write(dir.resolve(name), FuzzImage.build(in.readAllBytes()));
        }
        for (String shared : List.of("base.qcow2", "base.raw", "data.raw")) {
            try (InputStream in = getClass().getResourceAsStream("seeds/" + shared)) {
                Files.write(dir.resolve(shared), in.readAllBytes());
            }
        }
    }
}
