package dev.q2.amend;

import dev.q2.resize.Resizer;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Crash ordering of amend's writing paths (refcount width change, downgrade with zero cluster expansion, upgrade):
 * the image is copied at every sync point; every copy must be repaired by {@code qemu-img check -r all} to a clean
 * image with the guest data unchanged.
 */
@Tag("qemu")
class AmendCrashTest {
    @TempDir
    Path dir;

    private static void ok(Qemu.Result r) {
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
    }

    private void crashEverywhere(String options) throws Exception {
        Path image = dir.resolve("img.qcow2");
        Files.deleteIfExists(image);
        ok(Qemu.img(dir, "create", "-q", "-f", "qcow2", "-o", "cluster_size=4k", "img.qcow2", "16M"));
        ok(Qemu.io(dir, "-c", "write -P 0xa1 0 64k", "-c", "write -z 1M 64k", "-c", "write -P 0xb2 4M 512k",
                "-c", "write -c -P 0xe5 8M 4k", "img.qcow2"));
        Files.deleteIfExists(dir.resolve("before.raw"));
        ok(Qemu.img(dir, "convert", "-O", "raw", "img.qcow2", "before.raw"));
        List<Path> crashes = new ArrayList<>();
        try (Resizer.Qcow2Open img = Resizer.Qcow2Open.open(image, new PrintWriter(new StringWriter()))) {
            img.onSync(() -> {
                img.file().flush();
                Path copy = dir.resolve("crash" + crashes.size() + ".qcow2");
                Files.copy(image, copy, StandardCopyOption.REPLACE_EXISTING);
                crashes.add(copy);
            });
            Amender.amend(img, Amender.parse(options), p -> { });
        }
        crashes.add(image);
        assertThat(crashes.size()).as(options).isGreaterThan(2);
        for (Path c : crashes) {
            String name = c.getFileName().toString();
            Qemu.Result repair = Qemu.img(dir, "check", "-r", "all", name);
            assertThat(repair.exitCode()).as(options + " " + name + ": " + repair.out() + repair.err()).isZero();
            ok(Qemu.img(dir, "check", name));
            Files.deleteIfExists(dir.resolve("after.raw"));
            ok(Qemu.img(dir, "convert", "-O", "raw", name, "after.raw"));
            assertThat(Files.mismatch(dir.resolve("before.raw"), dir.resolve("after.raw"))).as(options + " " + name)
                    .isEqualTo(-1L);
        }
    }

    @Test
    void everySyncPointLeavesARepairableImage() throws Exception {
        Qemu.assumeAvailable();
        crashEverywhere("refcount_bits=64");
        crashEverywhere("refcount_bits=2");
        crashEverywhere("compat=0.10");
        crashEverywhere("lazy_refcounts=on");
    }
}
