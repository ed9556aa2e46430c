package dev.q2.resize;

import dev.q2.create.Preallocation;
import dev.q2.format.QcowHeader;
import dev.q2.image.Qcow2Metadata;
import dev.q2.image.RefcountAllocator;
import dev.q2.io.ImageFile;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Crash ordering of {@link Qcow2Truncate}: the image file is copied at every sync point of a resize, as a crash there
 * would leave it. Every copy must be repaired by {@code qemu-img check -r all} to a clean image, and every guest byte
 * that the resize keeps must read back as before.
 */
@Tag("qemu")
class ResizeCrashTest {
    @TempDir
    Path dir;

    private static void ok(Qemu.Result r) {
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
    }

    private void crashEverywhere(long newSize, Preallocation prealloc) throws Exception {
        Path image = dir.resolve("img.qcow2");
        Files.deleteIfExists(image);
        ok(Qemu.img(dir, "create", "-q", "-f", "qcow2", "-o", "cluster_size=4k", "img.qcow2", "64M"));
        ok(Qemu.io(dir, "-c", "write -P 0xa1 0 64k", "-c", "write -P 0xb2 20M 1M", "-c", "write -P 0xc3 40M 256k",
                "-c", "write -z 50M 64k", "img.qcow2"));
        ok(Qemu.img(dir, "snapshot", "-c", "s1", "img.qcow2"));
        ok(Qemu.io(dir, "-c", "write -P 0xd4 40M 64k", "-c", "write -c -P 0xe5 60M 4k", "img.qcow2"));
        ok(Qemu.img(dir, "convert", "-O", "raw", "img.qcow2", "before.raw"));
        long kept = Math.min(newSize, 64L << 20);

        List<Path> crashes = new ArrayList<>();
        try (ImageFile f = ImageFile.openReadWrite(image)) {
            Qcow2Metadata img = Qcow2Metadata.load(f);
            QcowHeader h = img.header();
            RefcountAllocator rc = new RefcountAllocator(f, h.clusterBits(), h.refcountOrder(),
                    h.refcountTableOffset(), img.refcountTable());
            Qcow2Truncate.Sync snapshot = () -> {
                f.flush();
                Path copy = dir.resolve("crash" + crashes.size() + ".qcow2");
                Files.copy(image, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                crashes.add(copy);
            };
            new Qcow2Truncate(f, f, h, img.l1Table(), rc, false, snapshot).truncate(64L << 20, newSize, prealloc,
                    false);
            rc.flush();
        }
        crashes.add(image);
        assertThat(crashes.size()).isGreaterThan(3);
        for (Path c : crashes) {
            String name = c.getFileName().toString();
            Qemu.Result repair = Qemu.img(dir, "check", "-r", "all", name);
            assertThat(repair.exitCode()).as(name + ": " + repair.out() + repair.err()).isZero();
            ok(Qemu.img(dir, "check", name));
            Files.deleteIfExists(dir.resolve("after.raw"));
            ok(Qemu.img(dir, "convert", "-O", "raw", name, "after.raw"));
            assertThat(prefixMismatch(dir.resolve("before.raw"), dir.resolve("after.raw"), kept)).as(name)
                    .isEqualTo(-1L);
        }
    }

    /** The first differing byte of the first {@code length} bytes, or -1. */
    private static long prefixMismatch(Path a, Path b, long length) throws IOException {
        try (InputStream x = Files.newInputStream(a); InputStream y = Files.newInputStream(b)) {
            byte[] bx = new byte[1 << 16];
            byte[] by = new byte[1 << 16];
            for (long pos = 0; pos < length; pos += bx.length) {
                int n = (int) Math.min(bx.length, length - pos);
                if (x.readNBytes(bx, 0, n) != n || y.readNBytes(by, 0, n) != n) {
                    return pos;
                }
                if (!java.util.Arrays.equals(bx, 0, n, by, 0, n)) {
                    return pos;
                }
            }
            return -1;
        }
    }

    @Test
    void shrinkIsSafeAtEverySyncPoint() throws Exception {
        Qemu.assumeAvailable();
        crashEverywhere(30L << 20, Preallocation.OFF);
    }

    @Test
    void growIsSafeAtEverySyncPoint() throws Exception {
        Qemu.assumeAvailable();
        crashEverywhere(8L << 30, Preallocation.OFF); // the L1 table moves
        crashEverywhere(80L << 20, Preallocation.METADATA);
        crashEverywhere(80L << 20, Preallocation.FALLOC);
    }
}
