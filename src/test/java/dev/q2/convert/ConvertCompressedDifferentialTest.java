package dev.q2.convert;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * convert -c with clusters compressed on several threads: the target is byte for byte qemu-img's, whatever
 * finishes first, including the file's end, which qemu-img rounds up to a sector after the last compressed write.
 */
@Tag("qemu")
class ConvertCompressedDifferentialTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}, data at the end: {1}")
    @CsvSource({"compression_type=zlib,true", "compression_type=zstd,true", "compression_type=zlib,false",
        "compression_type=zstd;cluster_size=4k,true", "compression_type=zlib;cluster_size=2M,true",
        "compression_type=zlib;extended_l2=on,false"})
    void sameFileAsQemuImg(String options, boolean compressibleEnd) throws Exception {
        Qemu.assumeAvailable();
        Random rnd = new Random(42);
        byte[] text = "qcow2 cluster refcount backing image guest l2 table of the ".getBytes(StandardCharsets.US_ASCII);
        int mib = 12;
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("src.raw").toFile(), "rw")) {
            byte[] piece = new byte[1 << 20];
            for (int i = 0; i < mib; i++) {
                switch (i % 4) {
                    case 0 -> rnd.nextBytes(piece); // does not compress: written as is
                    case 1 -> {
                        for (int j = 0; j < piece.length; j++) {
                            piece[j] = text[(j * 7 + rnd.nextInt(3)) % text.length];
                        }
                    }
                    default -> java.util.Arrays.fill(piece, (byte) 0); // zeros
                }
                f.write(piece);
            }
            if (compressibleEnd) {
                f.seek((mib - 1L) << 20);
                for (int j = 0; j < piece.length; j++) {
                    piece[j] = text[(j * 5 + rnd.nextInt(2)) % text.length];
                }
                f.write(piece);
            }
        }
        String o = options.replace(';', ',');
        Qemu.Result q = Qemu.img(dir, "convert", "-c", "-f", "raw", "-O", "qcow2", "-o", o, "src.raw", "q.qcow2");
        assertThat(q.exitCode()).as(q.err()).isZero();
        Cli.Result mine = Cli.runIn(dir, "convert", "-c", "-f", "raw", "-O", "qcow2", "-o", o, "src.raw", "o.qcow2");
        assertThat(mine.exitCode()).as(mine.err()).isZero();
        // zstd goes through the system's libzstd (QEMU's) where q2's JNI helper finds it: then the files are the
        // same too; with zstd-jni's bundled library the frames may differ (docs/compatibility.md), the guest data not
        if (o.contains("zlib") || systemZstd()) {
            assertThat(Files.size(dir.resolve("o.qcow2"))).as("file length")
                    .isEqualTo(Files.size(dir.resolve("q.qcow2")));
            assertThat(Files.mismatch(dir.resolve("o.qcow2"), dir.resolve("q.qcow2"))).isEqualTo(-1L);
        }
        assertThat(Qemu.img(dir, "compare", "-q", "q.qcow2", "o.qcow2").exitCode()).isZero();
        assertThat(Qemu.img(dir, "check", "o.qcow2").exitCode()).isZero();
    }

    private static boolean systemZstd() {
        return dev.q2.io.NativeFiles.zstdCompress(new byte[4096], 4096, new byte[4096]) != -3;
    }
}
