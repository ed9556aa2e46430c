package dev.q2.crypto;

import dev.q2.image.DiskOptions;
import dev.q2.image.Qcow2Disk;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * An image qemu-img makes with more slot iterations than session 6's cap of 2^24 a count (a 16-byte key with
 * SHA-256, one PBKDF2 block, and an iter-time of 3 s: ~2.5 * 10^7 iterations on a 2026 server core): q2 opens it and
 * reads what qemu-io wrote. Slow (seconds of PBKDF2 in each tool).
 */
@Tag("qemu")
@Tag("slow")
class LuksIterationsDifferentialTest {
    @TempDir
    Path dir;

    @Test
    void opensQemusImageWithManyIterations() throws Exception {
        Qemu.assumeAvailable();
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "--object", "secret,id=sec0,data=pw", "-o",
                "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.cipher-alg=aes-128,encrypt.cipher-mode=cbc,"
                        + "encrypt.ivgen-alg=essiv,encrypt.iter-time=3000", "e.qcow2", "1M");
        Matcher m = Pattern.compile("\"iters\": (\\d+)")
                .matcher(Qemu.imgOk(dir, "info", "--output=json", "e.qcow2").out());
        long slotIters = 0;
        while (m.find()) {
            slotIters = Math.max(slotIters, Long.parseLong(m.group(1)));
        }
        assumeTrue(slotIters > 1L << 24, "this machine's PBKDF2 gave qemu-img only " + slotIters + " iterations");
        Qemu.ok(Qemu.io(dir, "--object", "secret,id=sec0,data=pw", "-c", "write -P 0x5a 4k 8k", "--image-opts",
                "driver=qcow2,file.filename=e.qcow2,encrypt.key-secret=sec0"));
        try (Qcow2Disk d = Qcow2Disk.open(dir.resolve("e.qcow2"), DiskOptions.readOnly()
                .withKeys(ImageKeys.of(new Secret("sec0", "pw".getBytes(StandardCharsets.UTF_8)))))) {
            ByteBuffer b = ByteBuffer.allocate(8192);
            d.read(4096, b);
            byte[] want = new byte[8192];
            java.util.Arrays.fill(want, (byte) 0x5a);
            assertThat(b.array()).isEqualTo(want);
        }
    }
}
