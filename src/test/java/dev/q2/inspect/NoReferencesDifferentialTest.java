package dev.q2.inspect;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code --no-references} against qemu-img's own way to open an image alone: {@code json:{..., "backing": null}}
 * (qemu-img 7.2 has no option for it), and for the external data file {@code data-file.driver=null-co} (the only way
 * to keep qemu-img from opening it). q2's output under {@code --no-references} must be qemu-img's under those, and q2
 * must read qemu-img's json: names the same way.
 */
@Tag("qemu")
@Timeout(300)
class NoReferencesDifferentialTest {
    @TempDir
    Path dir;

    @BeforeEach
    void qemu() {
        Qemu.assumeAvailable();
    }

    private static String backingNull(String file) {
        return "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"file\",\"filename\":\"" + file + "\"},\"backing\":null}";
    }

    private void qemuImg(String... args) {
        Qemu.Result r = Qemu.img(dir, args);
        assertThat(r.exitCode()).as(r.err()).isZero();
    }

    private void qemuIo(String file, String command) {
        Qemu.Result r = Qemu.io(dir, "-c", command, file);
        assertThat(r.exitCode()).as(r.err()).isZero();
    }

    /** q2 and qemu-img print the same and exit alike. */
    private void same(String[] q2, String[] qemu) {
        Cli.Result a = Cli.runIn(dir, q2);
        Qemu.Result b = Qemu.img(dir, qemu);
        assertThat(a.out()).as(String.join(" ", q2)).isEqualTo(b.out());
        assertThat(a.exitCode()).as(String.join(" ", q2) + ": " + a.err()).isEqualTo(b.exitCode());
    }

    @Test
    void mapAndCheckOfAChainTopAsQemuWithBackingNull() {
        qemuImg("create", "-q", "-f", "qcow2", "base.qcow2", "4M");
        qemuIo("base.qcow2", "write -P 1 0 4M");
        qemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=16k,extended_l2=on", "-b", "base.qcow2", "-F",
                "qcow2", "top.qcow2", "4M");
        qemuIo("top.qcow2", "write -P 2 8k 2k");
        qemuIo("top.qcow2", "write -z 64k 8k");
        qemuIo("top.qcow2", "write -c -P 3 128k 16k");
        qemuIo("top.qcow2", "write -P 4 1M 64k");
        qemuIo("top.qcow2", "discard 1M 4k");
        for (String output : new String[] {"--output=human", "--output=json"}) {
            same(new String[] {"map", output, "--no-references", "top.qcow2"},
                    new String[] {"map", output, backingNull("top.qcow2")});
            same(new String[] {"map", output, backingNull("top.qcow2")},
                    new String[] {"map", output, backingNull("top.qcow2")});
            same(new String[] {"check", output, backingNull("top.qcow2")},
                    new String[] {"check", output, backingNull("top.qcow2")});
        }
        same(new String[] {"check", "--no-references", "top.qcow2"},
                new String[] {"check", backingNull("top.qcow2")});
        // a chain of three: only the named layer
        qemuImg("create", "-q", "-f", "qcow2", "-b", "top.qcow2", "-F", "qcow2", "mid.qcow2", "4M");
        qemuIo("mid.qcow2", "write -P 5 2M 64k");
        same(new String[] {"map", "--output=json", "--no-references", "mid.qcow2"},
                new String[] {"map", "--output=json", backingNull("mid.qcow2")});
    }

    @Test
    void leaksAndCorruptionsAsQemuWithBackingNull() throws Exception {
        qemuImg("create", "-q", "-f", "qcow2", "base.qcow2", "1M");
        qemuImg("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "top.qcow2", "1M");
        qemuIo("top.qcow2", "write -P 2 0 128k");
        Path top = dir.resolve("top.qcow2");
        // a leak: the second data cluster dropped from its L2 entry (its refcount stays 1)
        long l1 = Images.readLong(top, Images.L1_TABLE_OFFSET);
        long l2 = Images.readLong(top, l1) & 0x00fffffffffffe00L;
        Images.writeLong(top, l2 + 8, 0);
        Qemu.Result leaks = Qemu.img(dir, "check", backingNull("top.qcow2"));
        assertThat(leaks.exitCode()).isEqualTo(3);
        same(new String[] {"check", "--no-references", "top.qcow2"}, new String[] {"check", backingNull("top.qcow2")});
        // a corruption: the first data cluster's entry points into the L1 table's cluster
        Images.writeLong(top, l2, l1 | 1L << 63);
        Qemu.Result corrupt = Qemu.img(dir, "check", backingNull("top.qcow2"));
        assertThat(corrupt.exitCode()).isEqualTo(2);
        same(new String[] {"check", "--no-references", "top.qcow2"}, new String[] {"check", backingNull("top.qcow2")});
        same(new String[] {"check", "--output=json", backingNull("top.qcow2")},
                new String[] {"check", "--output=json", backingNull("top.qcow2")});
    }

    @Test
    void dataFileAsQemuWithANullDataFile() {
        qemuImg("create", "-q", "-f", "qcow2", "-o", "data_file=data.raw", "img.qcow2", "4M");
        qemuIo("img.qcow2", "write -P 1 0 64k");
        qemuIo("img.qcow2", "write -z 256k 64k");
        qemuIo("img.qcow2", "write -P 2 1M 128k");
        String nullData = "driver=qcow2,file.filename=img.qcow2,data-file.driver=null-co";
        same(new String[] {"map", "--output=json", "--no-references", "img.qcow2"},
                new String[] {"map", "--output=json", "--image-opts", nullData});
        // human: the same lines, but q2 names the data file as the image stores it, qemu-img its stand-in
        Cli.Result human = Cli.runIn(dir, "map", "--no-references", "img.qcow2");
        Qemu.Result qemu = Qemu.img(dir, "map", "--image-opts", nullData);
        assertThat(human.out()).isEqualTo(qemu.out().replace("null-co://", "data.raw"));
        same(new String[] {"check", "--no-references", "img.qcow2"},
                new String[] {"check", "--image-opts", nullData});
    }
}
