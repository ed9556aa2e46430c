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
 * Hostile LUKS headers in a qcow2 image opened with a key: iteration counts beyond q2's cap
 * ({@link LuksKeys#MAX_WORK} HMAC computations to try a password) are refused before any PBKDF2 runs (QEMU would run
 * them: up to 2^32 iterations per slot), and key material outside the crypto header area or the file is refused,
 * not read as zeros.
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
        // 64-byte key (aes-256-xts), SHA-256: two blocks an iteration, 2^29 iterations at most
        assertThatThrownBy(() -> open(p)).hasMessage("LUKS key slot 0 iterations 2147483647 exceed q2's limit of "
                + LuksKeys.MAX_WORK / 2 + " (64-byte key, sha256)");
    }

    @Test
    void hugeDigestIterationsAreRefusedUpFront() throws Exception {
        Path p = image();
        patch(p, luksOffset(p) + 164, -1);
        assertThatThrownBy(() -> open(p)).hasMessage("LUKS master key digest iterations 4294967295 exceed q2's"
                + " limit of " + LuksKeys.MAX_WORK + " (sha256)");
    }

    @Test
    void slotAndDigestTogetherOverTheLimitAreRefusedUpFront() throws Exception {
        Path p = image();
        patch(p, luksOffset(p) + 164, 1 << 29); // the digest: 2^29 HMACs, within the limit alone
        patch(p, luksOffset(p) + 208 + 4, (1 << 28) + 1); // slot 0: two blocks, 2^29 + 2 HMACs, within alone
        assertThatThrownBy(() -> open(p)).hasMessage("LUKS key slots need " + ((1L << 30) + 2)
                + " HMAC computations to try a password (1 active slot), over q2's limit of " + LuksKeys.MAX_WORK);
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
