package dev.q2.crypto;

import dev.q2.image.DiskOptions;
import dev.q2.image.Qcow2Disk;
import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Encrypted images that q2 creates, judged by qemu-img and qemu-io: q2 create and q2 convert with --object secret and
 * -o encrypt.format=luks|aes. LUKS images cannot be byte-identical (random master key, salts, UUID, iteration counts
 * from a CPU benchmark), so the test checks what must match: the file's size and layout (header cluster, refcounts,
 * LUKS header area) against qemu-img's own image with the random fields masked, qemu-img info's encrypt block apart
 * from uuid and iterations, and the data through qemu-io and qemu-img compare. AES creates are byte-identical.
 */
@Tag("qemu")
class EncryptedCreateDifferentialTest {
    private static final String SECRET = "secret,id=sec0,data=astrochicken";

    @TempDir
    Path dir;

    @BeforeEach
    void needQemu() {
        Qemu.assumeAvailable();
    }

    private static String masked(String info) {
        return info.replaceAll("uuid: .*", "uuid: X").replaceAll("iters: \\d+", "iters: N")
                .replaceAll("disk size: .*", "disk size: X").replaceAll("image: .*", "image: X");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10",
        "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10,encrypt.cipher-alg=aes-128,"
            + "encrypt.cipher-mode=cbc,encrypt.ivgen-alg=essiv,encrypt.hash-alg=sha1,cluster_size=4k",
        "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10,preallocation=metadata",
    })
    void luksCreateReadsAndWritesInQemu(String options) throws Exception {
        Cli.Result r = Cli.runIn(dir, "create", "-f", "qcow2", "--object", SECRET, "-o", options, "q.qcow2", "3M");
        Qemu.Result o = Qemu.imgOk(dir, "create", "-f", "qcow2", "--object", SECRET, "-o", options, "o.qcow2", "3M");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(o.out().replace("o.qcow2", "q.qcow2"));
        assertThat(Files.size(dir.resolve("q.qcow2"))).isEqualTo(Files.size(dir.resolve("o.qcow2")));
        assertThat(masked(Qemu.imgOk(dir, "info", "q.qcow2").out()))
                .isEqualTo(masked(Qemu.imgOk(dir, "info", "o.qcow2").out()));
        assertThat(Qemu.imgOk(dir, "check", "--object", SECRET, "--image-opts",
                "driver=qcow2,file.filename=q.qcow2,encrypt.key-secret=sec0").out())
                .isEqualTo(Qemu.imgOk(dir, "check", "--object", SECRET, "--image-opts",
                        "driver=qcow2,file.filename=o.qcow2,encrypt.key-secret=sec0").out());
        // the header clusters match but for the LUKS header's random fields
        byte[] q = Files.readAllBytes(dir.resolve("q.qcow2"));
        byte[] e = Files.readAllBytes(dir.resolve("o.qcow2"));
        long luks = ByteBuffer.wrap(q).getLong(ByteBuffer.wrap(q).getInt(100) + 8);
        assertThat(Arrays.copyOf(q, (int) luks)).isEqualTo(Arrays.copyOf(e, (int) luks));
        assertThat(Arrays.copyOfRange(q, (int) luks, (int) luks + 108))
                .isEqualTo(Arrays.copyOfRange(e, (int) luks, (int) luks + 108)); // names, payload, key bytes
        Qemu.ok(Qemu.io(dir, "--object", SECRET, "-c", "write -P 0x5a 4k 70k", "-c", "read -P 0x5a 4k 70k",
                "--image-opts", "driver=qcow2,file.filename=q.qcow2,encrypt.key-secret=sec0"));
        try (Qcow2Disk d = Qcow2Disk.open(dir.resolve("q.qcow2"), DiskOptions.readOnly().withKeys(
                ImageKeys.of(new Secret("sec0", "astrochicken".getBytes(StandardCharsets.UTF_8)))))) {
            ByteBuffer b = ByteBuffer.allocate(70 * 1024);
            d.read(4096, b);
            byte[] want = new byte[70 * 1024];
            Arrays.fill(want, (byte) 0x5a);
            assertThat(b.array()).isEqualTo(want);
        }
    }

    @Test
    void aesCreateIsByteIdentical() throws Exception {
        for (String opts : new String[] {"encryption=on,encrypt.key-secret=sec0",
            "encrypt.format=aes,encrypt.key-secret=sec0,cluster_size=4k"}) {
            Cli.Result r = Cli.runIn(dir, "create", "-f", "qcow2", "--object", SECRET, "-o", opts, "q.qcow2", "5M");
            Qemu.Result o = Qemu.imgOk(dir, "create", "-f", "qcow2", "--object", SECRET, "-o", opts, "o.qcow2", "5M");
            assertThat(r.exitCode()).as(r.err()).isZero();
            assertThat(r.out()).isEqualTo(o.out().replace("o.qcow2", "q.qcow2"));
            assertThat(Files.readAllBytes(dir.resolve("q.qcow2"))).isEqualTo(Files.readAllBytes(dir.resolve("o.qcow2")));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10",
        "encryption=on,encrypt.key-secret=sec0"})
    void convertToEncryptedTargetComparesIdenticalInQemu(String options) throws Exception {
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "src.qcow2", "4M");
        Qemu.ok(Qemu.io(dir, "-c", "write -P 0x9 64k 300k", "-c", "write -P 0x3 3M 4k", "-c", "write -P 7 100 5",
                "src.qcow2"));
        Cli.Result r = Cli.runIn(dir, "convert", "-O", "qcow2", "--object", SECRET, "-o", options, "src.qcow2",
                "c.qcow2");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(Qemu.imgOk(dir, "compare", "--object", SECRET, "--image-opts", "driver=qcow2,file.filename=src.qcow2",
                "driver=qcow2,file.filename=c.qcow2,encrypt.key-secret=sec0").out()).isEqualTo("Images are identical.\n");
    }

    @ParameterizedTest
    @ValueSource(strings = {"secret,id=s,data=a,file=/x", "secret,id=s", "secret,data=a", "secret,id=s,file=/nonexist",
        "secret,id=s,data=@@,format=base64", "secret,id=s,data=a,format=hex",
        "foo,id=x", "secret,id=s,data=a,bogus=1", "secret,id=s,file=/"})
    void badSecretObjectsInQemuWords(String object) {
        Cli.Result r = Cli.runIn(dir, "create", "-f", "qcow2", "--object", object, "q.qcow2", "1M");
        Qemu.Result o = Qemu.img(dir, "create", "-f", "qcow2", "--object", object, "o.qcow2", "1M");
        assertThat(r.exitCode()).isEqualTo(o.exitCode()).isEqualTo(1);
        assertThat(r.err()).isEqualTo(o.err().replace("qemu-img: ", "q2: "));
        assertThat(r.out()).isEqualTo(o.out());
    }

    /** qemu-img keeps reading /dev/zero (still running after 5 s here); q2 stops at its limit, with one line. */
    @Test
    void anEndlessSecretFileIsRefused() {
        Cli.Result r = Cli.runIn(dir, "create", "-f", "qcow2", "--object", "secret,id=s,file=/dev/zero", "q.qcow2",
                "1M");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("q2: Unable to read /dev/zero: the file is larger than 64 MiB\n");
    }

    @Test
    void duplicateSecretIdAndMissingSecret() {
        Cli.Result r = Cli.runIn(dir, "create", "-f", "qcow2", "--object", SECRET, "--object", SECRET, "q.qcow2",
                "1M");
        assertThat(r.err()).isEqualTo("q2: attempt to add duplicate property 'sec0' to object (type 'container')\n");
        Cli.Result m = Cli.runIn(dir, "create", "-q", "-f", "qcow2", "--object", SECRET, "-o",
                "encrypt.format=luks,encrypt.key-secret=other", "q.qcow2", "1M");
        Qemu.Result o = Qemu.img(dir, "create", "-q", "-f", "qcow2", "--object", SECRET, "-o",
                "encrypt.format=luks,encrypt.key-secret=other", "q.qcow2", "1M");
        assertThat(m.err()).isEqualTo(o.err().replace("qemu-img: ", "q2: "));
    }
}
