package dev.q2.resize;

import dev.q2.create.Preallocation;
import dev.q2.image.Qcow2Metadata;
import dev.q2.image.RefcountAllocator;
import dev.q2.io.ImageFile;
import dev.q2.testutil.CrashCopies;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Crash ordering of {@link Qcow2Truncate}: the image file is copied at every sync point of a resize, as a crash there
 * would leave it. Every copy must be repaired by {@code qemu-img check -r all} to a clean image, and every guest byte
 * that the resize keeps must read back as before.
 */
@Tag("qemu")
class ResizeCrashTest extends QemuTest {
    private void crashEverywhere(long newSize, Preallocation prealloc) throws Exception {
        Path image = dir.resolve("img.qcow2");
        Files.deleteIfExists(image);
        img("create", "-q", "-f", "qcow2", "-o", "cluster_size=4k", "img.qcow2", "64M");
        io("img.qcow2", "write -P 0xa1 0 64k", "write -P 0xb2 20M 1M", "write -P 0xc3 40M 256k", "write -z 50M 64k");
        img("snapshot", "-c", "s1", "img.qcow2");
        io("img.qcow2", "write -P 0xd4 40M 64k", "write -c -P 0xe5 60M 4k");
        img("convert", "-O", "raw", "img.qcow2", "before.raw");
        long kept = Math.min(newSize, 64L << 20);

        CrashCopies crashes = new CrashCopies(dir, image);
        try (ImageFile f = ImageFile.openReadWrite(image)) {
            Qcow2Metadata img = Qcow2Metadata.load(f);
            RefcountAllocator rc = CrashCopies.refcounts(f, img);
            new Qcow2Truncate(f, f, img.header(), img.l1Table(), rc, false, () -> crashes.take(f))
                    .truncate(64L << 20, newSize, prealloc, false);
            rc.flush();
        }
        crashes.copies().add(image);
        assertThat(crashes.copies().size()).isGreaterThan(3);
        CrashCopies.assertRepairedKeepingData(dir, crashes.copies(), kept, "");
    }

    @Test
    void shrinkIsSafeAtEverySyncPoint() throws Exception {
        crashEverywhere(30L << 20, Preallocation.OFF);
    }

    @Test
    void growIsSafeAtEverySyncPoint() throws Exception {
        crashEverywhere(8L << 30, Preallocation.OFF); // the L1 table moves
        crashEverywhere(80L << 20, Preallocation.METADATA);
        crashEverywhere(80L << 20, Preallocation.FALLOC);
    }

    /**
     * Growth with preallocation from a size inside a cluster (iotest 125 with 64 KiB clusters): falloc and full
     * allocate that cluster anew, copy its head and free the old one; metadata maps on from the cluster in place.
     */
    @Test
    void growFromInsideAClusterIsSafeAtEverySyncPoint() throws Exception {
        long creation = 2 * 1024 * 1024 - 48 * 1024;
        for (Preallocation prealloc : new Preallocation[] {Preallocation.FALLOC, Preallocation.FULL,
            Preallocation.METADATA}) {
            Path image = dir.resolve("img.qcow2");
            Files.deleteIfExists(image);
            img("create", "-q", "-f", "qcow2", "-o", "cluster_size=64k", "img.qcow2", Long.toString(creation));
            io("img.qcow2", "write -P 0xa1 0 " + creation);
            img("convert", "-O", "raw", "img.qcow2", "before.raw");
            CrashCopies crashes = new CrashCopies(dir, image);
            try (ImageFile f = ImageFile.openReadWrite(image)) {
                Qcow2Metadata img = Qcow2Metadata.load(f);
                RefcountAllocator rc = CrashCopies.refcounts(f, img);
                new Qcow2Truncate(f, f, img.header(), img.l1Table(), rc, false, () -> crashes.take(f))
                        .truncate(creation, creation + 80 * 1024, prealloc, false);
                rc.flush();
            }
            crashes.copies().add(image);
            assertThat(crashes.copies().size()).isGreaterThan(2);
            CrashCopies.assertRepairedKeepingData(dir, crashes.copies(), creation, "");
            for (Path copy : crashes.copies()) {
                if (!copy.equals(image)) {
                    Files.delete(copy);
                }
            }
        }
    }
}
