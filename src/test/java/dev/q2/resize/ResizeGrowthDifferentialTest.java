package dev.q2.resize;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Growing an image as qemu-img resize does, byte for byte: falloc preallocation allocates the file's new blocks
 * (iotest 125: writing the new area afterwards must not grow the host size), and a size that is not a multiple
 * of the cluster size over a longer backing file gets its tail zeroed (iotest 292).
 */
@Tag("qemu")
class ResizeGrowthDifferentialTest extends QemuTest {

    @ParameterizedTest(name = "create {0}, grow +{1} with preallocation={2}")
    @CsvSource({
        "off,16K,falloc", "metadata,16K,falloc", "falloc,48K,falloc", "off,80K,full", "metadata,48K,metadata",
        "full,16K,full", "off,16K,off",
    })
    void growthAllocatesTheHostBlocksQemuAllocates(String create, String growth, String mode)
            throws IOException, InterruptedException {
        long creation = 2 * 1024 * 1024 - 48 * 1024;
        for (String name : new String[] {"q.qcow2", "o.qcow2"}) {
            img("create", "-q", "-f", "qcow2", "-o", "preallocation=" + create + ",cluster_size=512", name,
                    Long.toString(creation));
        }
        img("resize", "-f", "qcow2", "--preallocation=" + mode, "q.qcow2", "+" + growth);
        Cli.Result r = Cli.runIn(dir, "resize", "-f", "qcow2", "--preallocation=" + mode, "o.qcow2", "+" + growth);
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(Files.mismatch(dir.resolve("q.qcow2"), dir.resolve("o.qcow2"))).isEqualTo(-1L);
        Qemu.ok(Qemu.img(dir, "check", "o.qcow2"));
        // iotest 125's measure: once the old area is written, writing the grown area must not grow the file's
        // length (nor, with falloc and full, its allocated blocks: they were allocated by the resize)
        Qemu.ioOk(dir, "o.qcow2", "write 0 " + creation);
        long length1 = Files.size(dir.resolve("o.qcow2"));
        long blocks1 = blocks("o.qcow2");
        Qemu.ioOk(dir, "o.qcow2", "write " + creation + " " + growth);
        if (!mode.equals("off")) {
            assertThat(Files.size(dir.resolve("o.qcow2"))).isLessThanOrEqualTo(length1);
        }
        if (mode.equals("falloc") || mode.equals("full")) {
            assertThat(blocks("o.qcow2")).isLessThanOrEqualTo(blocks1);
        }
    }

    @Test
    void anUnalignedSizeOverALongerBackingFileGetsItsTailZeroed() throws IOException {
        // iotest 292
        img("create", "-q", "-f", "qcow2", "base.qcow2", "1M");
        Qemu.ioOk(dir, "base.qcow2", "write -P 0x11 0 1M");
        img("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", "base.qcow2", "q.qcow2");
        Qemu.ioOk(dir, "q.qcow2", "write -P 0x22 0 1M");
        img("resize", "-q", "--shrink", "q.qcow2", "520k");
        Files.copy(dir.resolve("q.qcow2"), dir.resolve("o.qcow2"));
        img("resize", "q.qcow2", "567k");
        Cli.Result r = Cli.runIn(dir, "resize", "o.qcow2", "567k");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("Image resized.\n");
        assertThat(Files.mismatch(dir.resolve("q.qcow2"), dir.resolve("o.qcow2"))).isEqualTo(-1L);
        Qemu.ioOk(dir, "o.qcow2", "read -P 0x22 0 520k", "read -P 0 520k 47k");
    }

    @ParameterizedTest(name = "64k clusters: create {0}, grow +{1} with preallocation={2}")
    @CsvSource({
        "off,16K,metadata", "off,48K,falloc", "off,80K,full", "metadata,16K,falloc", "metadata,80K,metadata",
        "falloc,48K,full", "full,16K,falloc", "full,80K,metadata",
    })
    void growthFromInsideAClusterAsQemuImgGrows(String create, String growth, String mode) throws Exception {
        // iotest 125 with 64 KiB clusters: the old size ends inside a cluster; falloc and full allocate that
        // cluster anew (its head copied), metadata maps on from it
        long creation = 2 * 1024 * 1024 - 48 * 1024;
        for (String name : new String[] {"q.qcow2", "o.qcow2"}) {
            img("create", "-q", "-f", "qcow2", "-o", "preallocation=" + create + ",cluster_size=64k", name,
                    Long.toString(creation));
            Qemu.ioOk(dir, name, "write -P 0x5a 0 " + creation);
        }
        img("resize", "-f", "qcow2", "--preallocation=" + mode, "q.qcow2", "+" + growth);
        Cli.Result r = Cli.runIn(dir, "resize", "-f", "qcow2", "--preallocation=" + mode, "o.qcow2", "+" + growth);
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(Files.mismatch(dir.resolve("q.qcow2"), dir.resolve("o.qcow2"))).isEqualTo(-1L);
        Qemu.ok(Qemu.img(dir, "check", "o.qcow2"));
        Qemu.ioOk(dir, "o.qcow2", "read -P 0x5a 0 " + creation, "read -P 0 " + creation + " " + growth);
    }

    @ParameterizedTest(name = "over a raw backing file: {0} to {1} with preallocation={2}")
    @CsvSource({
        "31k,96k,metadata", "31k,128k,full", "33k,96k,falloc", "33k,128k,metadata", "64k,96k,metadata",
        "31k,100k,falloc",
    })
    void growthFromInsideAClusterOverABackingFile(String from, String to, String mode) throws Exception {
        // iotest 125's last part: the copy-on-write of the head (and of the tail past the new end) reads the
        // backing file; falloc and full leave no zero flags (the file's new area already reads as zeros)
        img("create", "-q", "-f", "raw", "base.raw", "128k");
        Qemu.ok(Qemu.io(dir, Qemu.ioArgs("raw", "base.raw", "write -P 1 0 128k")));
        for (String name : new String[] {"q.qcow2", "o.qcow2"}) {
            img("create", "-q", "-f", "qcow2", "-F", "raw", "-b", "base.raw", "-o", "cluster_size=64k", name, from);
        }
        img("resize", "-f", "qcow2", "--preallocation=" + mode, "q.qcow2", to);
        Cli.Result r = Cli.runIn(dir, "resize", "-f", "qcow2", "--preallocation=" + mode, "o.qcow2", to);
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(Files.mismatch(dir.resolve("q.qcow2"), dir.resolve("o.qcow2"))).isEqualTo(-1L);
        Qemu.ioOk(dir, "o.qcow2", "read -P 1 0 " + from, "read -P 0 " + from + " 32k");
    }

    /** st_blocks of a file in the test folder. */
    private long blocks(String name) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("stat", "-c", "%b", dir.resolve(name).toString()).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        assertThat(p.waitFor()).isZero();
        return Long.parseLong(out);
    }
}
