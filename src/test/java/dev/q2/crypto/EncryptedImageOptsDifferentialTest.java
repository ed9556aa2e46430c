package dev.q2.crypto;

import dev.q2.testutil.Cli;
import dev.q2.testutil.IoComparison;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * compare and map of a LUKS image named with --image-opts and its encrypt.key-secret (iotests 188, 198 and 284 name
 * encrypted images so): the key is looked up among the --object secrets and the image read with it; a missing
 * secret or a wrong password is refused in qemu-img's words. Commands that do not open images with keys refuse the
 * option by name instead of ignoring it (info, check, commit and the chain's keys: EncryptedChainKeysDifferentialTest).
 */
@Tag("qemu")
class EncryptedImageOptsDifferentialTest extends QemuTest {
    private static final String SECRET = "secret,id=sec0,data=123456";
    private static final String NAME = "driver=qcow2,file.filename=e.qcow2,encrypt.key-secret=sec0";

    @Test
    void compareAndMapOpenTheImageWithItsKey() {
        ok(img("create", "-q", "-f", "qcow2", "--object", SECRET, "-o",
                "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10", "e.qcow2", "4M"));
        ok(Qemu.io(dir, "--object", SECRET, "--image-opts", "-c", "write -P 0x5a 64k 1M", NAME));
        ok(img("create", "-q", "-f", "raw", "same.raw", "4M"));
        ok(Qemu.io(dir, "-f", "raw", "-c", "write -P 0x5a 64k 1M", "same.raw"));
        ok(img("create", "-q", "-f", "raw", "other.raw", "4M"));
        String[][] cases = {
            {"compare", "--object", SECRET, "--image-opts", NAME, "driver=raw,file.filename=same.raw"},
            {"compare", "--object", SECRET, "--image-opts", NAME, "driver=raw,file.filename=other.raw"},
            {"compare", "--image-opts", NAME, "driver=raw,file.filename=same.raw"},
            {"compare", "--object", "secret,id=sec0,data=wrong", "--image-opts", NAME,
                "driver=raw,file.filename=same.raw"},
            {"map", "--object", SECRET, "--image-opts", NAME},
            {"map", "--output=json", "--object", SECRET, "--image-opts", NAME},
            {"map", "--image-opts", NAME},
        };
        for (String[] args : cases) {
            Qemu.Result q = Qemu.img(dir, args);
            Cli.Result mine = Cli.runIn(dir, args);
            String what = String.join(" ", args);
            assertThat(mine.exitCode()).as(what).isEqualTo(q.exitCode());
            assertThat(mine.out()).as(what).isEqualTo(q.out());
            assertThat(mine.err()).as(what).isEqualTo(q.err().replace("qemu-img: ", "q2: "));
        }
        assertThat(Qemu.img(dir, cases[0]).out()).isEqualTo("Images are identical.\n");
    }

    @Test
    void ioTakesTheImageOptsOperand() {
        ok(img("create", "-q", "-f", "qcow2", "--object", SECRET, "-o",
                "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10", "e.qcow2", "4M"));
        ok(Qemu.io(dir, "--object", SECRET, "--image-opts", "-c", "write -P 0x5a 64k 64k", NAME));
        String[][] cases = {
            {"-f", "qcow2", "--image-opts", "-c", "read 0 512", "driver=qcow2,file.filename=e.qcow2"},
            {"--image-opts", "-c", "read 0 512", "driver=qcow2,file.filename=e.qcow2"},
            {"--image-opts", "-c", "read 0 512", "driver=qcow2,file.filename=nonexistent.qcow2"},
            {"--object", SECRET, "--image-opts", "-c", "read -P 0x5a 64k 64k", NAME},
            {"--object", "secret,id=sec0,data=wrong", "--image-opts", "-c", "read 0 512", NAME},
        };
        for (String[] args : cases) {
            IoComparison.same(dir, args);
        }
        // q2 io writes through the key; qemu-io reads it back
        Cli.Result w = Cli.runIn(dir, "io", "--object", SECRET, "--image-opts", "-c", "write -P 0x33 100 1000", NAME);
        assertThat(w.exitCode()).as(w.err()).isZero();
        Qemu.Result check = Qemu.io(dir, "--object", SECRET, "--image-opts", "-c", "read -P 0x33 100 1000", NAME);
        assertThat(check.exitCode()).isZero();
        assertThat(check.out()).startsWith("read 1000/1000 bytes at offset 100\n");
    }

    @Test
    void aCommandThatDoesNotUseKeysRefusesTheOption() {
        ok(img("create", "-q", "-f", "qcow2", "--object", SECRET, "-o",
                "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10", "e.qcow2", "4M"));
        Cli.Result r = Cli.runIn(dir, "resize", "--object", SECRET, "--image-opts", NAME, "8M");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("q2 resize does not support the option 'encrypt.key-secret'");
    }
}
