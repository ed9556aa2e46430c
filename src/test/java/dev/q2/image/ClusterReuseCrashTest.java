package dev.q2.image;

import dev.q2.io.ImageFile;
import dev.q2.testutil.Cli;
import dev.q2.testutil.CrashCopies;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Crash ordering of freed clusters found again (QEMU's free_cluster_index): the image file is copied at every sync
 * point of a q2 io run that discards clusters and then writes elsewhere, where the writes take the freed clusters.
 * In every copy {@code qemu-img check -r all} repairs the image to a clean one, and every cluster reads either what
 * it held before the run or what the run gave it (a discarded cluster: its old content or zeros), never the data of
 * another cluster: a freed cluster is written again only after the references to it are gone from the disk.
 */
@Tag("qemu")
class ClusterReuseCrashTest extends QemuTest {
    private static final int CLUSTER = 65536;

    @AfterEach
    void unhook() {
        ImageFile.syncHookForTests(null);
    }

    @ParameterizedTest(name = "discard, then writes that reuse the clusters: {0}")
    @ValueSource(strings = {"cluster_size=64k", "cluster_size=64k,extended_l2=on", "cluster_size=64k,refcount_bits=1"})
    void everySyncPointRepairsToOldOrNewData(String options) throws IOException {
        img("create", "-q", "-f", "qcow2", "-o", options, "img.qcow2", "8M");
        Qemu.ioOk(dir, "img.qcow2", "write -P 0x11 0 1M", "write -c -P 0x12 2M 64k");
        List<Path> copies = new ArrayList<>();
        Cli.Result r = CrashCopies.atEverySync(dir, copies, () -> Cli.runIn(dir, "io", "-c", "discard 0 512k", "-c",
                "write -P 0x22 4M 512k", "-c", "write -P 0x33 2M 4k", "-c", "write -P 0x44 6M 128k", "img.qcow2"));
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        assertThat(copies).as("sync points").hasSizeGreaterThan(1);
        copies.add(dir.resolve("img.qcow2"));
        for (Path c : copies) {
            String name = c.getFileName().toString();
            byte[] raw = dev.q2.testutil.CrashCopies.repairedGuestData(dir, c);
            for (int cluster = 0; cluster < raw.length / CLUSTER; cluster++) {
                long at = (long) cluster * CLUSTER;
                assertThat(allowed(at)).as(name + " cluster " + cluster).contains(content(raw, cluster));
            }
        }
    }

    /** What a cluster may read as (a uniform byte value, or -1 for the 2M cluster's mix), before or after the run. */
    private static List<Integer> allowed(long at) {
        if (at < 512 << 10) {
            return List.of(0x11, 0); // discarded
        }
        if (at < 1 << 20) {
            return List.of(0x11);
        }
        if (at == 2 << 20) {
            return List.of(0x12, -1); // 0x33 written over the head of the compressed cluster
        }
        if (at >= 4 << 20 && at < (4 << 20) + (512 << 10)) {
            return List.of(0, 0x22);
        }
        if (at >= 6 << 20 && at < (6 << 20) + (128 << 10)) {
            return List.of(0, 0x44);
        }
        return List.of(0);
    }

    /** The byte a cluster is filled with; -1 for 4 KiB of 0x33 followed by 0x12. */
    private static int content(byte[] raw, int cluster) {
        int base = cluster * CLUSTER;
        byte first = raw[base];
        boolean uniform = true;
        for (int i = 1; i < CLUSTER && uniform; i++) {
            uniform = raw[base + i] == first;
        }
        if (uniform) {
            return first & 0xff;
        }
        for (int i = 0; i < CLUSTER; i++) {
            if (raw[base + i] != (i < 4096 ? (byte) 0x33 : (byte) 0x12)) {
                return -2;
            }
        }
        return -1;
    }
}
