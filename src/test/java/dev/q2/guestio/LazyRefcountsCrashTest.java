package dev.q2.guestio;

import dev.q2.image.DiskOptions;
import dev.q2.image.Qcow2Disk;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Crash safety of q2 io's writes under lazy refcounts (the engine then writes refcount blocks only when it allocates
 * an L2 table and on close, as QEMU does) and of copy-on-read: the image file is copied after every command, as
 * {@code sigraise 9} (a killed process) would leave it there. Every copy must carry the dirty bit (lazy refcounts),
 * be repaired by {@code qemu-img check -r all} to an image qemu-img check finds clean, and hold every write made
 * so far (qemu-io's default cache mode writes through), as the same commands run by qemu-io leave it.
 */
@Tag("qemu")
class LazyRefcountsCrashTest extends QemuTest {
    private static final List<String> COMMANDS = List.of("write -P 0x5a 0 512", "write -P 0x11 64k 12k",
            "write -P 0x22 3M 8k", "write -z 64k 4k", "discard 3M 4k", "write -c -P 0x33 5M 4k",
            "write -P 0x44 0 128k", "write -z -u 8M 64k", "write -P 0x55 40M 4k", "discard 0 8k");

    private void crashAfterEveryCommand(String createOptions, String backing, boolean copyOnRead) throws Exception {
        img("create", "-q", "-f", "qcow2", "-o", createOptions, "img.qcow2", "64M");
        if (backing != null) {
            img("create", "-q", "-f", "qcow2", "base.qcow2", "64M");
            io("base.qcow2", "write -P 0x77 0 16M");
            img("rebase", "-u", "-F", "qcow2", "-b", "base.qcow2", "img.qcow2");
        }
        Files.copy(dir.resolve("img.qcow2"), dir.resolve("ref.qcow2"));
        if (backing != null) {
            img("rebase", "-u", "-F", "qcow2", "-b", "base.qcow2", "ref.qcow2");
        }
        StringWriter out = new StringWriter();
        Qcow2Disk disk = Qcow2Disk.open(dir.resolve("img.qcow2"), DiskOptions.readWrite());
        PrintWriter w = new PrintWriter(out, true);
        IoScript script = copyOnRead ? new IoScript(GuestDisk.of(disk, true), w, w)
                : new IoScript(disk, w);
        try {
            for (int k = 0; k < COMMANDS.size(); k++) {
                String c = COMMANDS.get(k);
                if (c.startsWith("write -c") && createOptions.contains("extended_l2=on")) {
                    continue; // (a compressed write must cover whole 64k clusters)
                }
                script.run(c);
                if (c.startsWith("discard")) {
                    script.run("flush"); // a discard is not a write: write-through does not flush it, in QEMU either
                }
                if (copyOnRead) {
                    script.run("read 0 16M");
                }
                assertThat(script.failed()).as(c + ": " + out).isFalse();
                Path crash = dir.resolve("crash" + k + ".qcow2");
                Files.copy(dir.resolve("img.qcow2"), crash, StandardCopyOption.REPLACE_EXISTING);
                io("ref.qcow2", c);
                String name = crash.getFileName().toString();
                if (createOptions.contains("lazy_refcounts=on")) {
                    assertThat(readLong(name, 72) & 1).as(c + ": dirty bit").isEqualTo(1);
                }
                Qemu.Result repair = Qemu.img(dir, "check", "-r", "all", name);
                assertThat(repair.exitCode()).as(c + ": " + repair.out() + repair.err()).isZero();
                ok(Qemu.img(dir, "check", name));
                ok(Qemu.img(dir, "compare", "-f", "qcow2", "-F", "qcow2", "ref.qcow2", name));
            }
        } finally {
            script.close();
        }
        ok(Qemu.img(dir, "check", "img.qcow2"));
        assertThat(readLong("img.qcow2", 72) & 1).as("clean after close").isZero();
        ok(Qemu.img(dir, "compare", "ref.qcow2", "img.qcow2"));
    }

    @Test
    void lazyRefcountsLeaveARepairableImageAfterEveryCommand() throws Exception {
        crashAfterEveryCommand("compat=1.1,lazy_refcounts=on,cluster_size=4k", null, false);
    }

    @Test
    void lazyRefcountsWithLargeClustersAndSubclusters() throws Exception {
        crashAfterEveryCommand("compat=1.1,lazy_refcounts=on,extended_l2=on,cluster_size=64k", null, false);
    }

    @Test
    void copyOnReadLeavesARepairableImageAfterEveryCommand() throws Exception {
        crashAfterEveryCommand("compat=1.1,lazy_refcounts=on,cluster_size=4k", "base.qcow2", true);
        crashAgainWithoutLazyRefcounts();
    }

    private void crashAgainWithoutLazyRefcounts() throws Exception {
        for (String f : List.of("img.qcow2", "ref.qcow2", "base.qcow2")) {
            Files.deleteIfExists(dir.resolve(f));
        }
        crashAfterEveryCommand("compat=1.1,cluster_size=4k", "base.qcow2", true);
    }
}
