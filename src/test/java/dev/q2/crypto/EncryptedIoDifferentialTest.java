package dev.q2.crypto;

import dev.q2.image.DiskOptions;
import dev.q2.image.Qcow2Disk;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Guest I/O of encrypted qcow2 images against qemu-io: qemu-img makes the image and qemu-io writes patterns that q2
 * reads back; q2 writes (aligned, unaligned, across clusters, over allocated data) and qemu-io verifies each
 * pattern with read -P. LUKS with each cipher mode and IV generator q2 offers, and the legacy AES method.
 */
@Tag("qemu")
class EncryptedIoDifferentialTest {
    private static final String PASSWORD = "astrochicken";

    @TempDir
    Path dir;

    @BeforeEach
    void needQemu() {
        Qemu.assumeAvailable();
    }

    private static DiskOptions keyed(DiskOptions o) {
        return o.withKeys(ImageKeys.of(new Secret("sec0", PASSWORD.getBytes(StandardCharsets.UTF_8))));
    }

    private void create(String options, String extra) {
        String o = options + (extra.isEmpty() ? "" : "," + extra);
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "--object", "secret,id=sec0,data=" + PASSWORD, "-o", o,
                "e.qcow2", "4M");
    }

    private Qemu.Result qemuIo(String... commands) {
        java.util.List<String> a = new java.util.ArrayList<>(java.util.List.of("--object",
                "secret,id=sec0,data=" + PASSWORD));
        for (String c : commands) {
            a.add("-c");
            a.add(c);
        }
        a.add("--image-opts");
        a.add("driver=qcow2,file.filename=e.qcow2,encrypt.key-secret=sec0");
        return Qemu.ok(Qemu.io(dir, a.toArray(String[]::new)));
    }

    private static byte[] pattern(int n, int p) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) p);
        return b;
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "encrypt.format=luks,encrypt.iter-time=10",
        "encrypt.format=luks,encrypt.iter-time=10,encrypt.cipher-alg=aes-128",
        "encrypt.format=luks,encrypt.iter-time=10,encrypt.cipher-alg=aes-192",
        "encrypt.format=luks,encrypt.iter-time=10,encrypt.cipher-mode=cbc,encrypt.ivgen-alg=essiv",
        "encrypt.format=luks,encrypt.iter-time=10,encrypt.cipher-alg=aes-128,encrypt.ivgen-alg=plain,"
            + "encrypt.hash-alg=sha1",
        "encrypt.format=luks,encrypt.iter-time=10,encrypt.cipher-mode=ecb,encrypt.hash-alg=sha512",
        "encrypt.format=luks,encrypt.iter-time=10,cluster_size=16k,extended_l2=on",
        "encrypt.format=aes",
    })
    void readsWhatQemuWroteAndQemuReadsWhatQ2Wrote(String options) throws Exception {
        create(options + ",encrypt.key-secret=sec0", "");
        qemuIo("write -P 0x11 0 64k", "write -P 0x22 100k 7k", "write -P 0x33 3M 512");
        try (Qcow2Disk d = Qcow2Disk.open(dir.resolve("e.qcow2"), keyed(DiskOptions.readOnly()))) {
            assertThat(d.encrypted()).isTrue();
            assertThat(read(d, 0, 65536)).isEqualTo(pattern(65536, 0x11));
            assertThat(read(d, 100 * 1024, 7 * 1024)).isEqualTo(pattern(7 * 1024, 0x22));
            assertThat(read(d, 3 << 20, 512)).isEqualTo(pattern(512, 0x33));
            assertThat(read(d, 3 * 1024 + 7, 100)).isEqualTo(pattern(100, 0x11)); // unaligned
            assertThat(read(d, 1 << 20, 4096)).isEqualTo(new byte[4096]); // unallocated
        }
        try (Qcow2Disk d = Qcow2Disk.open(dir.resolve("e.qcow2"), keyed(DiskOptions.readWrite()))) {
            d.write(200 * 1024, ByteBuffer.wrap(pattern(70 * 1024, 0x44))); // fresh, across clusters
            d.write(1000, ByteBuffer.wrap(pattern(3000, 0x55))); // unaligned, in place
            d.write(3 << 20 | 100, ByteBuffer.wrap(pattern(10, 0x66))); // unaligned, in a sector qemu wrote
            d.write(2 << 20, ByteBuffer.wrap(pattern(1 << 20, 0x77))); // many fresh clusters at once
            d.flush();
        }
        qemuIo("read -P 0x11 0 1000", "read -P 0x55 1000 3000", "read -P 0x11 4000 61536",
                "read -P 0x22 100k 7k", "read -P 0x44 200k 70k", "read -P 0x77 2M 1M",
                "read -P 0x33 3M 100", "read -P 0x66 3145828 10", "read -P 0x33 3145838 402",
                "read -P 0 1M 64k");
    }

    private static byte[] read(Qcow2Disk d, long offset, int n) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(n);
        d.read(offset, b);
        return b.array();
    }

    @Test
    void wrongPasswordAndMissingSecretAreRefusedInQemuWords() throws Exception {
        create("encrypt.format=luks,encrypt.iter-time=10,encrypt.key-secret=sec0", "");
        Path p = dir.resolve("e.qcow2");
        assertThatThrownBy(() -> Qcow2Disk.open(p, DiskOptions.readOnly()).close())
                .hasMessage("Parameter 'encrypt.key-secret' is required for cipher");
        assertThatThrownBy(() -> Qcow2Disk.open(p, DiskOptions.readOnly().withKeys(
                ImageKeys.of(new Secret("sec0", "platypus".getBytes(StandardCharsets.UTF_8))))).close())
                .hasMessage("Invalid password, cannot unlock any keyslot");
        assertThatThrownBy(() -> Qcow2Disk.open(p, DiskOptions.readOnly().withKeys(
                new ImageKeys("nosuch", null, null))).close()).hasMessage("No secret with id 'nosuch'");
        // an unencrypted image ignores a key secret, as QEMU does
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "u.qcow2", "1M");
        Qcow2Disk.open(dir.resolve("u.qcow2"), DiskOptions.readOnly().withKeys(new ImageKeys("nosuch", null, null)))
                .close();
    }

    @Test
    void libraryOpenWithKeySecret() throws Exception {
        create("encrypt.format=luks,encrypt.iter-time=10,encrypt.key-secret=sec0", "");
        qemuIo("write -P 0x3c 512 1k");
        try (dev.q2.Image img = dev.q2.Qcow2.open(dir.resolve("e.qcow2"), dev.q2.OpenOptions.readWrite()
                .withKeySecret(PASSWORD.getBytes(StandardCharsets.UTF_8)))) {
            ByteBuffer b = ByteBuffer.allocate(1024);
            img.read(512, b);
            assertThat(b.array()).isEqualTo(pattern(1024, 0x3c));
            img.write(4096, ByteBuffer.wrap(pattern(100, 0x3d)));
        }
        qemuIo("read -P 0x3c 512 1k", "read -P 0x3d 4096 100");
    }
}
