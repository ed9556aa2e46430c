package dev.q2.create;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Fixtures;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * q2 create against qemu-img's own files: for every line of testdata/create-cases.txt the image q2 writes must have
 * the sha256 and length of the one qemu-img 7.2 wrote, and q2 must print the same "Formatting" line.
 */
class CreateFixtureTest {
    @TempDir
    Path dir;

    static Stream<Integer> cases() {
        return Fixtures.lineNumbers("create-cases.txt");
    }

    @ParameterizedTest(name = "create case {0}")
    @MethodSource("cases")
    void matchesQemuImgByteForByte(int n) throws Exception {
        String line = Fixtures.line("create-cases.txt", n);
        Path fixture = Fixtures.numbered("create", n);
        Fixtures.unpack(fixture, dir);
        Files.deleteIfExists(dir.resolve("img.qcow2"));
        Files.deleteIfExists(dir.resolve("data.raw"));

        List<String> args = new ArrayList<>(List.of("create", "-f", "qcow2"));
        args.addAll(Fixtures.shellWords(line));
        Cli.Result r = Cli.runIn(dir, args.toArray(String[]::new));

        String expectedOut = Fixtures.read(fixture.resolve("stdout"));
        assertThat(r.exitCode()).as("exit code for %s (stderr %s)", line, r.err())
                .isEqualTo(Integer.parseInt(Fixtures.read(fixture.resolve("rc")).trim()));
        assertThat(r.out()).as("stdout for %s", line).isEqualTo(expectedOut);
        String[] expected = Fixtures.read(fixture.resolve("image.sha256")).trim().split("\\s+");
        Path img = dir.resolve("img.qcow2");
        assertThat(Files.size(img)).as("length of image for %s", line).isEqualTo(Long.parseLong(expected[1]));
        assertThat(sha256(img)).as("sha256 of image for %s", line).isEqualTo(expected[0]);
    }

    static String sha256(Path p) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            try (var in = Files.newInputStream(p)) {
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = in.read(buf)) > 0) {
                    md.update(buf, 0, n);
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
