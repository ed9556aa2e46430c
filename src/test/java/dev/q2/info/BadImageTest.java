package dev.q2.info;

import dev.q2.testutil.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hostile and broken images: q2 info answers with exit 1 and one line naming the problem, in qemu-img's words
 * where it has them, never a stack trace, and never reads or allocates from an absurd size field.
 */
class BadImageTest {
    @TempDir
    Path dir;

    private Path cleanImage() {
        Path img = dir.resolve("img.qcow2");
        Cli.Result r = Cli.run("create", "-q", img.toString(), "1G");
        assertThat(r.exitCode()).isZero();
        return img;
    }

    private static void patch(Path file, long offset, String hex) throws Exception {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(offset);
            raf.write(HexFormat.of().parseHex(hex));
        }
    }

    @ParameterizedTest(name = "{2}")
    @CsvSource({
        "4, 00000005, Unsupported qcow2 version 5",
        "20, 0000001f, Unsupported cluster size: 2^31",
        "20, 00000008, Unsupported cluster size: 2^8",
        "72, 0000000000000120, Unsupported qcow2 feature(s): Unknown incompatible feature: 120",
        "36, 10000000, Active L1 table too large",
        "36, 00000001, L1 table is too small",
        "40, 0000000000030008, Active L1 table offset invalid",
        "56, 00ff0000, Reference count table too large",
        "96, 00000007, Reference count entry width too large; may not exceed 64 bits",
        "100, 00000010, qcow2 header too short",
        "24, ff00000000000000, Image is too big",
        "60, 00010001, Snapshot table too large",
        "40, 0000100000000000, Active L1 table at offset 17592186044416 runs past the end of the file",
        "48, 0000100000000000, Reference count table at offset 17592186044416 runs past the end of the file",
    })
    void refusedWithOneLine(long offset, String hex, String message) throws Exception {
        Path img = cleanImage();
        patch(img, offset, hex);
        byte[] before = Files.readAllBytes(img);
        Cli.Result r = Cli.run("info", img.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).startsWith("q2: Could not open '" + img + "': " + message);
        assertThat(r.err().lines().count()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(Files.readAllBytes(img)).as("info never writes").isEqualTo(before);
    }

    @Test
    void unknownFeatureNamedFromTheFeatureTable() throws Exception {
        Path img = cleanImage();
        patch(img, 72, "0000000000000004"); // external data file bit, which the table names; q2 knows it
        patch(img, 72, "0000000000000020"); // bit 5: unknown, and not in the table
        Cli.Result r = Cli.run("info", img.toString());
        assertThat(r.err()).contains("Unknown incompatible feature: 20");
    }

    @Test
    void notQcow2IsReportedAsRaw() throws Exception {
        Path f = dir.resolve("plain.img");
        Files.write(f, new byte[1536]);
        Cli.Result r = Cli.run("info", "--output=json", f.toString());
        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("\"format\": \"raw\"").contains("\"virtual-size\": 1536");
    }

    @Test
    void forcedQcow2OnAPlainFileIsRefused() throws Exception {
        Path f = dir.resolve("plain.img");
        Files.write(f, "hello".getBytes());
        Cli.Result r = Cli.run("info", "-f", "qcow2", f.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("q2: Could not open '" + f + "': Image is not in qcow2 format\n");
    }

    @Test
    void truncatedHeader() throws Exception {
        Path img = cleanImage();
        byte[] head = ByteBuffer.wrap(Files.readAllBytes(img), 0, 50).array();
        Files.write(img, java.util.Arrays.copyOf(head, 50));
        Cli.Result r = Cli.run("info", "-f", "qcow2", img.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("q2: Could not open '" + img + "': qcow2 header too short\n");
    }

    @Test
    void missingFile() {
        Path f = dir.resolve("nope.qcow2");
        Cli.Result r = Cli.run("info", f.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        // as qemu-img says it: the format's "Could not open" around the file protocol's, so the name comes twice
        assertThat(r.err()).isEqualTo("q2: Could not open '" + f + "': Could not open '" + f
                + "': No such file or directory\n");
    }
}
