package dev.q2.resize;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Shrinking frees the host blocks qemu-img resize --shrink frees (iotest 250): the clusters it drops are discarded
 * in merged ranges, as QEMU queues them, not cluster by cluster; on ext4 punching cluster by cluster splits extents
 * on the way and can leave one more extent-tree block allocated.
 */
@Tag("qemu")
class ResizeShrinkDiscardDifferentialTest extends QemuTest {

    @Test
    void aShrinkFreesWhatQemuImgFrees() throws IOException, InterruptedException {
        for (String name : new String[] {"q.qcow2", "o.qcow2"}) {
            img("create", "-q", "-f", "qcow2", "-o", "cluster_size=1M,preallocation=metadata", name, "2100M");
            // the first and last 10M swapped in the file, so that the discarded clusters form ranges > 2 GiB
            Qemu.ioOk(dir, name, "discard 0 10M", "discard 2090M 10M", "write 2090M 10M", "write 0 10M");
        }
        long qBefore = blocks("q.qcow2");
        long oBefore = blocks("o.qcow2");
        img("resize", "--shrink", "q.qcow2", "5M");
        Cli.Result r = Cli.runIn(dir, "resize", "--shrink", "o.qcow2", "5M");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("Image resized.\n");
        assertThat(Files.mismatch(dir.resolve("q.qcow2"), dir.resolve("o.qcow2"))).isEqualTo(-1L);
        assertThat(oBefore - blocks("o.qcow2")).as("512-byte blocks freed").isEqualTo(qBefore - blocks("q.qcow2"))
                .isEqualTo(15L * 1024 * 1024 / 512);
        Qemu.ok(Qemu.img(dir, "check", "o.qcow2"));
    }

    /** st_blocks of a file in the test folder. */
    private long blocks(String name) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("stat", "-c", "%b", dir.resolve(name).toString()).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        assertThat(p.waitFor()).isZero();
        return Long.parseLong(out);
    }
}
