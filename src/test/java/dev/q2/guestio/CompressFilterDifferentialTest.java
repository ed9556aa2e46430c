package dev.q2.guestio;

import dev.q2.testutil.IoComparison;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * QEMU's compress filter (driver=compress over a qcow2 node, iotest 214) in q2 io against qemu-io 7.2: unaligned
 * writes widened to whole clusters and stored compressed, the same guest data and the same count of compressed
 * clusters (QEMU compresses a request's clusters in parallel, so the order they land in the file may differ), and
 * the same refusals.
 */
@Tag("qemu")
class CompressFilterDifferentialTest {
    @TempDir
    Path dir;

    private static final String OPTS = "driver=compress,file.driver=qcow2,file.file.driver=file,file.file.filename=";

    private static String json(String file) {
        return "json:{'driver': 'compress', 'file': {'driver': 'qcow2', 'file': {'driver': 'file', 'filename': '"
                + file + "'}}}";
    }

    @Test
    void unalignedWritesAreWholeCompressedClusters() throws Exception {
        Qemu.assumeAvailable();
        for (String f : new String[] {"q.qcow2", "m.qcow2"}) {
            Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "-o", "cluster_size=64k", f, "2M");
        }
        // the same writes through each tool, each on its own image
        String first = "write -P 0xbb 0 229376";
        String second = "write -P 0xcc 278528 229376";
        Qemu.Result q1 = Qemu.io(dir, "-c", first, "--image-opts", OPTS + "q.qcow2");
        dev.q2.testutil.Cli.Result m1 = dev.q2.testutil.Cli.runIn(dir, "io", "-c", first, "--image-opts",
                OPTS + "m.qcow2");
        assertThat(m1.exitCode()).isEqualTo(q1.exitCode()).isZero();
        assertThat(m1.out().replaceAll("ops; .*", "")).isEqualTo(q1.out().replaceAll("ops; .*", ""));
        Qemu.Result q2 = Qemu.io(dir, "-c", second, json("q.qcow2"));
        dev.q2.testutil.Cli.Result m2 = dev.q2.testutil.Cli.runIn(dir, "io", "-c", second, json("m.qcow2"));
        assertThat(m2.exitCode()).isEqualTo(q2.exitCode()).isZero();
        assertThat(m2.out().replaceAll("ops; .*", "")).isEqualTo(q2.out().replaceAll("ops; .*", ""));
        for (String f : new String[] {"q.qcow2", "m.qcow2"}) {
            Qemu.Result check = Qemu.img(dir, "check", "--output=json", f);
            assertThat(check.exitCode()).as(f).isZero();
            assertThat(check.out()).as(f).contains("\"compressed-clusters\": 8,");
            Qemu.ioOk(dir, f, "read -P 0xbb 0 229376", "read -P 0 229376 49152", "read -P 0xcc 278528 229376",
                    "read -P 0 507904 16384");
        }
        assertThat(Files.size(dir.resolve("m.qcow2"))).isEqualTo(Files.size(dir.resolve("q.qcow2")));
        Qemu.Result mq = Qemu.img(dir, "compare", "q.qcow2", "m.qcow2");
        assertThat(mq.out()).isEqualTo("Images are identical.\n");
    }

    @Test
    void refusals() throws Exception {
        Qemu.assumeAvailable();
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "a.qcow2", "1M");
        IoComparison.same(dir, "-c", "read 0 512", "json:{'driver':'compress','file':{'driver':'file','filename':'a.qcow2'}}");
        IoComparison.same(dir, "-c", "read 0 512",
                "json:{'driver':'compress','file':{'driver':'raw','file.filename':'a.qcow2'}}");
        IoComparison.same(dir, "-c", "read 0 512",
                "json:{'driver':'compress','x':1,'file':{'driver':'qcow2','file.filename':'a.qcow2'}}");
        IoComparison.same(dir, "-c", "read 0 512", "json:{'driver':'compress'}");
        IoComparison.same(dir, "-c", "read 0 512", "json:{'driver':'compress','file':{'driver':'qcow2','file.filename':'nope'}}");
        IoComparison.same(dir, "-c", "open -o driver=compress,file.driver=qcow2,file.file.filename=a.qcow2",
                "-c", "read -P 0 0 4k");
    }
}
