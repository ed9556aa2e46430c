package dev.q2.crypto;

import dev.q2.image.DiskOptions;
import dev.q2.image.Qcow2Disk;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Hostile LUKS headers in a qcow2 image opened with a key: iteration counts beyond q2's cap are refused before any
 * PBKDF2 runs (QEMU would run them: up to 2^32 iterations per slot), and key material outside the crypto header area
 * or the file is refused, not read as zeros.
 */
@Tag("qemu")
class EncryptedHostileHeaderTest {
    @TempDir
    Path dir;

    @BeforeEach
    void needQemu() {
        Qemu.assumeAvailable();
    }

    private Path image() {
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "--object", "secret,id=sec0,data=pw", "-o",
                "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10", "e.qcow2", "1M");
        return dir.resolve("e.qcow2");
    }

    private static long luksOffset(Path p) throws Exception {
        try (FileChannel ch = FileChannel.open(p)) {
            ByteBuffer b = ByteBuffer.allocate(256);
            ch.read(b, 0);
            int ext = b.getInt(100); // header_length: the first extension follows
            return b.getLong(ext + 8);
        }
    }

    private static void patch(Path p, long at, int value) throws Exception {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4).putInt(0, value), at);
        }
    }

    private static void open(Path p) throws Exception {
        Qcow2Disk.open(p, DiskOptions.readOnly().withKeys(ImageKeys.of(new Secret("sec0",
                "pw".getBytes(StandardCharsets.UTF_8))))).close();
    }

    @Test
    void hugeSlotIterationsAreRefusedUpFront() throws Exception {
        Path p = image();
        patch(p, luksOffset(p) + 208 + 4, 0x7fffffff);
        assertThatThrownBy(() -> open(p)).hasMessage("LUKS key slot 0 iterations 2147483647 exceed q2's limit of "
                + LuksKeys.MAX_ITERATIONS);
    }

    @Test
    void hugeDigestIterationsAreRefusedUpFront() throws Exception {
        Path p = image();
        patch(p, luksOffset(p) + 164, -1);
        assertThatThrownBy(() -> open(p)).hasMessage("LUKS master key digest iterations 4294967295 exceed q2's"
                + " limit of " + LuksKeys.MAX_ITERATIONS);
    }

    @Test
    void keyMaterialPastTheFileIsRefused() throws Exception {
        Path p = image();
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.truncate(luksOffset(p) + 8192); // the header stays, the key material goes
        }
        assertThatThrownBy(() -> open(p)).hasMessageContaining("lies outside the crypto header area or the file");
    }
}
