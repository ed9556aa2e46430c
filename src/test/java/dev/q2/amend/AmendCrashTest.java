package dev.q2.amend;

import dev.q2.resize.Resizer;
import dev.q2.testutil.CrashCopies;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Crash ordering of amend's writing paths (refcount width change, downgrade with zero cluster expansion, upgrade):
 * the image is copied at every sync point; every copy must be repaired by {@code qemu-img check -r all} to a clean
 * image with the guest data unchanged.
 */
@Tag("qemu")
class AmendCrashTest extends QemuTest {
    private void crashEverywhere(String options) throws Exception {
        crashEverywhere("cluster_size=4k", false, options);
    }

    /** With {@code snapshot}, an internal snapshot is taken after the writes (the upgrade rewrites its table). */
    private void crashEverywhere(String createOptions, boolean snapshot, String options) throws Exception {
        Path image = dir.resolve("img.qcow2");
        Files.deleteIfExists(image);
        img("create", "-q", "-f", "qcow2", "-o", createOptions, "img.qcow2", "16M");
        io("img.qcow2", "write -P 0xa1 0 64k", "write -z 1M 64k", "write -P 0xb2 4M 512k", "write -c -P 0xe5 8M 4k");
        if (snapshot) {
            img("snapshot", "-c", "s1", "img.qcow2");
            io("img.qcow2", "write -P 0xc3 0 8k");
        }
        Files.deleteIfExists(dir.resolve("before.raw"));
        img("convert", "-O", "raw", "img.qcow2", "before.raw");
        CrashCopies crashes = new CrashCopies(dir, image);
        try (Resizer.Qcow2Open img = Resizer.Qcow2Open.open(image, new PrintWriter(new StringWriter()))) {
            img.onSync(() -> crashes.take(img.file()));
            Amender.amend(img, Amender.parse(options), p -> { });
        }
        crashes.copies().add(image);
        assertThat(crashes.copies().size()).as(options).isGreaterThan(2);
        CrashCopies.assertRepairedKeepingData(dir, crashes.copies(), -1, options);
    }

    @Test
    void everySyncPointLeavesARepairableImage() throws Exception {
        crashEverywhere("refcount_bits=64");
        crashEverywhere("refcount_bits=2");
        crashEverywhere("compat=0.10");
        crashEverywhere("lazy_refcounts=on");
    }

    @Test
    void upgradingAnImageWithSnapshotsIsCrashSafe() throws Exception {
        // compat=1.1 rewrites the snapshot table with v3's extra data (QEMU's qcow2_upgrade; iotest 261)
        crashEverywhere("cluster_size=4k,compat=0.10", true, "compat=1.1");
    }
}
