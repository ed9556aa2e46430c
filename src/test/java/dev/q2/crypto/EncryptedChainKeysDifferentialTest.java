package dev.q2.crypto;

import dev.q2.info.InfoFixtureTest;
import dev.q2.testutil.Cli;
import dev.q2.testutil.IoComparison;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Keys given through image names wherever qemu-img takes them (iotests 158, 188, 198, 284): info shows such an
 * image by QEMU's json: name and never looks the secret up; check opens it with its key (-r too); commit, convert,
 * compare, map and q2 io open a chain whose layers have keys of their own ({@code backing.encrypt.key-secret},
 * with {@code backing.driver} and {@code backing.file.filename} naming the backing file itself); a preallocated
 * encrypted convert target gets its zeros written. Each case: q2's exit code, stdout and stderr are qemu-img's.
 */
@Tag("qemu")
class EncryptedChainKeysDifferentialTest extends QemuTest {
    private static final String S0 = "secret,id=sec0,data=astrochicken";
    private static final String S1 = "secret,id=sec1,data=furby";
    private static final String BASE = "driver=qcow2,file.filename=base.qcow2,encrypt.key-secret=sec0";
    private static final String LAYER = "driver=qcow2,file.filename=layer.qcow2,encrypt.key-secret=sec1";
    private static final String CHAIN = LAYER
            + ",backing.driver=qcow2,backing.file.filename=base.qcow2,backing.encrypt.key-secret=sec0";
    private static final String LUKS = "encrypt.format=luks,encrypt.iter-time=10,encrypt.key-secret=";

    /** base.qcow2 (LUKS, sec0, 0x0a everywhere) under layer.qcow2 (LUKS, sec1, 0x09 in its first MiB). */
    private void chain() {
        ok(img("create", "-q", "-f", "qcow2", "--object", S0, "-o", LUKS + "sec0", "base.qcow2", "4M"));
        ok(Qemu.io(dir, "--object", S0, "--image-opts", "-c", "write -P 0xa 0 4M", BASE));
        ok(img("create", "-q", "-f", "qcow2", "--object", S1, "-o", LUKS + "sec1", "-b", "base.qcow2", "-F",
                "qcow2", "layer.qcow2"));
        ok(Qemu.io(dir, "--object", S0, "--object", S1, "--image-opts", "-c", "write -P 0x9 0 1M", CHAIN));
    }

    /** q2's exit code, stdout (without its L2 cache report) and stderr are qemu-img's; returns qemu-img's run. */
    private Qemu.Result same(String... args) {
        Qemu.Result q = Qemu.img(dir, args);
        Cli.Result mine = Cli.runIn(dir, args);
        String what = String.join(" ", args);
        assertThat(mine.exitCode()).as(what + "\n" + mine.err()).isEqualTo(q.exitCode());
        assertThat(InfoFixtureTest.withoutL2Cache(InfoFixtureTest.withoutHumanL2Cache(mine.out())))
                .as(what).isEqualTo(q.out());
        assertThat(mine.err()).as(what).isEqualTo(q.err().replace("qemu-img: ", "q2: "));
        return q;
    }

    @Test
    void infoShowsTheImageByQemusJsonNameAndNeverLooksTheSecretUp() throws IOException {
        chain();
        ok(img("create", "-q", "-f", "qcow2", "plain.qcow2", "1M"));
        Files.copy(dir.resolve("base.qcow2"), dir.resolve("a\"b,c.qcow2"));
        String[][] cases = {
            {"info", "--image-opts", BASE},
            {"info", "--output=json", "--image-opts", BASE},
            {"info", "--object", S0, "--image-opts", BASE},
            {"info", "--object", "secret,id=sec0,data=wrong", "--image-opts", BASE},
            {"info", "--image-opts", "encrypt.key-secret=sec0,file.filename=base.qcow2"},
            {"info", "--image-opts", LAYER},
            {"info", "--backing-chain", "--image-opts", LAYER},
            {"info", "--output=json", "--backing-chain", "--image-opts", LAYER},
            {"info", "json:{\"driver\":\"qcow2\",\"file\":{\"filename\":\"base.qcow2\"},"
                + "\"encrypt\":{\"key-secret\":\"x\"}}"},
            {"info", "--image-opts", "driver=qcow2,file.filename=plain.qcow2,encrypt.key-secret=x"},
            {"info", "--image-opts", "driver=qcow2,file.filename=" + dir + "/a\"b,,c.qcow2,encrypt.key-secret=s\"0"},
            // info opens no backing image: options for one are refused, the first in QEMU's order
            {"info", "--image-opts", LAYER + ",backing.encrypt.key-secret=sec0"},
            {"info", "--image-opts", CHAIN},
            {"info", "--backing-chain", "--image-opts", CHAIN},
            {"info", "--image-opts", "driver=qcow2,file.filename=plain.qcow2,backing.driver=qcow2"},
            {"info", "--image-opts", "file.filename=layer.qcow2,backing.encrypt.key-secret=x"},
        };
        for (String[] args : cases) {
            same(args);
        }
        assertThat(Qemu.img(dir, cases[0]).out()).startsWith("image: json:{\"encrypt.key-secret\": \"sec0\","
                + " \"driver\": \"qcow2\", \"file\": {\"driver\": \"file\", \"filename\": \"base.qcow2\"}}\n");
    }

    @Test
    void checkOpensTheImageWithItsKeys() throws IOException {
        chain();
        String[][] cases = {
            {"check", "--image-opts", BASE},
            {"check", "--object", "secret,id=sec0,data=wrong", "--image-opts", BASE},
            {"check", "--object", S0, "--image-opts", BASE},
            {"check", "--output=json", "--object", S0, "--image-opts", BASE},
            {"check", "-r", "all", "--object", S0, "--image-opts", BASE},
            {"check", "--object", S0, "--image-opts", LAYER},
            {"check", "--object", S1, "--image-opts", LAYER},
            {"check", "--object", S1, "--image-opts", LAYER + ",backing.encrypt.key-secret=sec0"},
            {"check", "--object", S0, "--object", S1, "--image-opts", LAYER + ",backing.encrypt.key-secret=sec0"},
            {"check", "base.qcow2"},
            {"check", "--object", S1, "--image-opts", CHAIN},
            {"check", "--object", S0, "--object", S1, "--image-opts", CHAIN},
            {"check", "-r", "all", "--object", S0, "--object", S1, "--image-opts", CHAIN},
        };
        for (String[] args : cases) {
            same(args);
        }
        // a leaked cluster in an encrypted image: repaired with the key as qemu-img repairs it
        leak("base.qcow2");
        Files.copy(dir.resolve("base.qcow2"), dir.resolve("theirs.qcow2"));
        String theirs = BASE.replace("base.qcow2", "theirs.qcow2");
        Qemu.Result q = Qemu.img(dir, "check", "-r", "leaks", "--object", S0, "--image-opts", theirs);
        Cli.Result mine = Cli.runIn(dir, "check", "-r", "leaks", "--object", S0, "--image-opts", BASE);
        assertThat(q.out()).contains("1 leaked clusters");
        assertThat(mine.exitCode()).as(mine.err()).isEqualTo(q.exitCode());
        assertThat(mine.out()).isEqualTo(q.out());
        assertThat(mine.err()).isEqualTo(q.err());
        assertThat(Qemu.img(dir, "check", "--object", S0, "--image-opts", BASE).exitCode()).isZero();
        Qemu.Result read = Qemu.io(dir, "--object", S0, "--image-opts", "-c", "read -P 0xa 0 4M", BASE);
        assertThat(read.out()).doesNotContain("Pattern verification failed").contains("read 4194304/4194304");
    }

    /**
     * Grows {@code file} by one cluster that nothing references and marks it used in the first refcount block
     * (16-bit entries): a leaked cluster.
     */
    private void leak(String file) throws IOException {
        Path p = dir.resolve(file);
        long refcountTable = readLong(file, 48);
        long block = readLong(file, refcountTable);
        long clusters = Files.size(p) / 65536;
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(1), (clusters + 1) * 65536 - 1);
            ch.write(ByteBuffer.allocate(2).putShort(0, (short) 1), block + 2 * clusters);
        }
    }

    @Test
    void commitTakesTheKeysOfTheChain() throws IOException {
        chain();
        Path saved = dir.resolve("saved");
        Files.createDirectories(saved);
        Files.copy(dir.resolve("base.qcow2"), saved.resolve("base.qcow2"));
        Files.copy(dir.resolve("layer.qcow2"), saved.resolve("layer.qcow2"));
        String[][] cases = {
            {"commit", "--object", S1, "--image-opts", CHAIN},
            {"commit", "--object", S0, "--image-opts", CHAIN},
            {"commit", "--object", S0, "--object", "secret,id=sec1,data=wrong", "--image-opts", CHAIN},
            {"commit", "--object", S0, "--object", S1, "--image-opts", LAYER},
            // -b never finds a layer given a key: QEMU's name for it is then a json: name
            {"commit", "-b", "base.qcow2", "--object", S0, "--object", S1, "--image-opts", CHAIN},
            {"commit", "-d", "--object", S0, "--object", S1, "--image-opts", CHAIN},
            {"commit", "--object", S0, "--object", S1, "--image-opts", CHAIN},
            {"commit", "--object", S0, "--object", S1, "--image-opts", LAYER + ",backing.encrypt.key-secret=sec0"},
        };
        for (String[] args : cases) {
            // each on fresh copies: qemu-img's result read back, then q2's on the same inputs
            restore(saved);
            Qemu.Result q = Qemu.img(dir, args);
            String theirs = contents();
            restore(saved);
            Cli.Result mine = Cli.runIn(dir, args);
            String what = String.join(" ", args);
            assertThat(mine.exitCode()).as(what + "\n" + mine.err()).isEqualTo(q.exitCode());
            assertThat(mine.out()).as(what).isEqualTo(q.out());
            assertThat(mine.err()).as(what).isEqualTo(q.err().replace("qemu-img: ", "q2: "));
            assertThat(contents()).as(what).isEqualTo(theirs);
        }
        assertThat(Qemu.img(dir, cases[6]).out()).isEqualTo("Image committed.\n");
    }

    private void restore(Path saved) throws IOException {
        for (String f : new String[] {"base.qcow2", "layer.qcow2"}) {
            Files.copy(saved.resolve(f), dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** What the base and the layer read as (qemu-io's pattern checks and qemu-img map of the layer). */
    private String contents() {
        StringBuilder sb = new StringBuilder();
        for (String pattern : new String[] {"0xa", "0x9"}) {
            Qemu.Result r = Qemu.io(dir, "--object", S0, "--image-opts", "-c", "read -q -P " + pattern + " 0 1M",
                    BASE);
            sb.append(r.out()).append(r.err());
        }
        Qemu.Result map = Qemu.img(dir, "map", "--output=json", "--object", S0, "--object", S1, "--image-opts",
                CHAIN);
        return sb.append(map.out()).append(map.err()).toString();
    }

    @Test
    void convertCompareMapAndIoTakeTheBackingKey() throws IOException {
        chain();
        ok(img("create", "-q", "-f", "qcow2", "other.qcow2", "4M"));
        String[][] cases = {
            {"map", "--output=json", "--object", S0, "--object", S1, "--image-opts", CHAIN},
            {"map", "--object", S0, "--object", S1, "--image-opts", LAYER + ",backing.encrypt.key-secret=sec0"},
            {"map", "--object", S1, "--image-opts", CHAIN},
            {"compare", "--object", S0, "--object", S1, "--image-opts", CHAIN, BASE},
            {"compare", "--object", S0, "--object", S1, "--image-opts", CHAIN,
                LAYER + ",backing.encrypt.key-secret=sec0"},
            {"compare", "--object", S1, "--image-opts", CHAIN, BASE},
            {"convert", "-O", "raw", "--object", S1, "--image-opts", CHAIN, "x.raw"},
            {"convert", "-O", "raw", "--image-opts", BASE, "x.raw"},
        };
        for (String[] args : cases) {
            same(args);
        }
        ok(img("convert", "-O", "raw", "--object", S0, "--object", S1, "--image-opts", CHAIN, "theirs.raw"));
        Cli.Result c = Cli.runIn(dir, "convert", "-O", "raw", "--object", S0, "--object", S1, "--image-opts", CHAIN,
                "mine.raw");
        assertThat(c.exitCode()).as(c.err()).isZero();
        assertThat(Files.readAllBytes(dir.resolve("mine.raw"))).isEqualTo(Files.readAllBytes(dir.resolve("theirs.raw")));
        // a backing file other than the one the image names: refused by name, never silently read
        Cli.Result other = Cli.runIn(dir, "map", "--object", S0, "--object", S1, "--image-opts",
                CHAIN.replace("backing.file.filename=base.qcow2", "backing.file.filename=other.qcow2"));
        assertThat(other.exitCode()).isEqualTo(1);
        assertThat(other.err()).endsWith("q2 map does not support the option 'backing.file.filename' naming another"
                + " file than the image's backing file\n");
        IoComparison.same(dir, "--object", S0, "--object", S1, "--image-opts", "-c", "read -P 0x9 0 1M",
                "-c", "read -P 0xa 1M 3M", CHAIN);
        IoComparison.same(dir, "--object", S1, "--image-opts", "-c", "read -P 0x9 0 1M", CHAIN);
        IoComparison.same(dir, "--object", S0, "--object", S1, "--image-opts", "-c", "read 0 1M",
                LAYER + ",backing.encrypt.key-secret=sec1");
        // q2 io writes through the chain's keys; qemu-io reads it back
        Cli.Result w = Cli.runIn(dir, "io", "--object", S0, "--object", S1, "--image-opts", "-c",
                "write -P 0x33 1000 2M", CHAIN);
        assertThat(w.exitCode()).as(w.err()).isZero();
        Qemu.Result r = Qemu.io(dir, "--object", S0, "--object", S1, "--image-opts", "-c", "read -P 0x33 1000 2M",
                "-c", "read -P 0xa 3M 1M", CHAIN);
        assertThat(r.out()).doesNotContain("Pattern verification failed");
    }

    @Test
    void convertWritesZerosIntoAPreallocatedEncryptedTarget() {
        // iotest 188: QEMU's qcow2 says a preallocated encrypted image does not read as zeros (has_zero_init)
        ok(img("create", "-q", "-f", "qcow2", "src.qcow2", "4M"));
        ok(Qemu.io(dir, "-c", "write -P 0x5 1M 64k", "src.qcow2"));
        Cli.Result c = Cli.runIn(dir, "convert", "-O", "qcow2", "--object", S0, "-o",
                LUKS + "sec0,preallocation=metadata", "src.qcow2", "t.qcow2");
        assertThat(c.exitCode()).as(c.err()).isZero();
        Qemu.Result cmp = Qemu.img(dir, "compare", "--object", S0, "--image-opts",
                "driver=qcow2,file.filename=src.qcow2,encrypt.key-secret=sec0",
                "driver=qcow2,file.filename=t.qcow2,encrypt.key-secret=sec0");
        assertThat(cmp.out()).isEqualTo("Images are identical.\n");
        assertThat(cmp.exitCode()).isZero();
    }
}
