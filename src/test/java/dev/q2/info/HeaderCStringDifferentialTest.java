package dev.q2.info;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Names in the header are C strings to QEMU: a backing file name, backing format or data file name with a NUL byte
 * in it ends there. Found by the fuzz targets (OpenFuzzTest: Java's "Nul character not allowed" escaped from
 * Qcow2Disk.open); q2 info and map must answer as qemu-img does.
 */
@Tag("qemu")
class HeaderCStringDifferentialTest {
    @TempDir
    Path dir;

    @BeforeEach
    void qemu() {
        Qemu.assumeAvailable();
    }

    @Test
    void backingNameAndFormatEndAtNul() throws Exception {
        qemuImg("create", "-f", "qcow2", "base.qcow2", "1M");
        qemuImg("create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "img.qcow2", "1M");
        Path img = dir.resolve("img.qcow2");
        ByteBuffer h = ByteBuffer.wrap(Files.readAllBytes(img));
        long nameOffset = h.getLong(8);
        int nameLength = h.getInt(16);
        // the name grows by "\0junk" (bytes QEMU leaves after a C string's end)
        patch(img, nameOffset + nameLength, new byte[] {0, 'j', 'u', 'n', 'k'});
        patch(img, 16, ByteBuffer.allocate(4).putInt(nameLength + 5).array());
        // backing format extension "qcow2" (length 5, 3 bytes of padding): length 7, "qcow2\0z"
        long ext = find(Files.readAllBytes(img), 0xe2792aca);
        patch(img, ext + 4, ByteBuffer.allocate(4).putInt(7).array());
        patch(img, ext + 8 + 5, new byte[] {0, 'z'});
        sameAsQemu("info", "img.qcow2");
        sameAsQemu("map", "--output=json", "img.qcow2");
    }

    @Test
    void dataFileNameEndsAtNul() throws Exception {
        qemuImg("create", "-f", "qcow2", "-o", "data_file=d.raw", "img.qcow2", "1M");
        Qemu.io(dir, "-c", "write -P 0x5a 0 64k", "img.qcow2");
        Path img = dir.resolve("img.qcow2");
        long ext = find(Files.readAllBytes(img), 0x44415441);
        patch(img, ext + 4, ByteBuffer.allocate(4).putInt(7).array());
        patch(img, ext + 8 + 5, new byte[] {0, 'x'});
        sameAsQemu("info", "img.qcow2");
        sameAsQemu("map", "--output=json", "img.qcow2");
        sameAsQemu("convert", "-O", "raw", "img.qcow2", "out.raw");
        assertThat(Files.readAllBytes(dir.resolve("out.raw"))).startsWith((byte) 0x5a);
    }

    private void sameAsQemu(String... args) {
        Qemu.Result q = Qemu.img(dir, args);
        Cli.Result o = Cli.runIn(dir, args);
        assertThat(o.exitCode()).as("exit code of %s", String.join(" ", args)).isEqualTo(q.exitCode());
        String out = o.out();
        if (args[0].equals("info") && out.contains("L2 cache:\n")) {
            out = out.substring(0, out.indexOf("L2 cache:\n")); // q2's one addition (InfoFixtureTest)
        }
        assertThat(out).as("stdout of %s", String.join(" ", args)).isEqualTo(q.out());
        assertThat(o.err()).isEqualTo(q.err().replace("qemu-img:", "q2:"));
    }

    private void qemuImg(String... args) {
        Qemu.Result r = Qemu.img(dir, args);
        assertThat(r.exitCode()).as(r.err()).isZero();
    }

    /** Offset of the first header extension of {@code type} (the extensions start at byte 112 of a v3 header). */
    private static long find(byte[] img, int type) {
        ByteBuffer b = ByteBuffer.wrap(img);
        for (int p = 112; ; ) {
            int t = b.getInt(p);
            int len = b.getInt(p + 4);
            assertThat(t).as("extension 0x%08x present", type).isNotZero();
            if (t == type) {
                return p;
            }
            p += 8 + ((len + 7) & ~7);
        }
    }

    private static void patch(Path file, long offset, byte[] bytes) throws Exception {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(offset);
            raf.write(bytes);
        }
    }
}
