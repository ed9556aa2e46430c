package dev.q2.image;

import dev.q2.io.ImageFile;
import dev.q2.testutil.BitmapReader;
import dev.q2.testutil.CrashCopies;
import dev.q2.testutil.Qemu;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The crash tests' shared harness for {@link PersistentBitmaps}: runs an edit on an image with a sync that copies
 * the file at every sync point (where a crash would leave it), and judges each copy.
 */
final class BitmapCrashPoints {
    private BitmapCrashPoints() {
    }

    /** What a test does with the image's bitmaps between open and store. */
    interface Edit {
        void apply(PersistentBitmaps pb) throws IOException;
    }

    /**
     * img.qcow2 in {@code dir}: 64 MiB, 4 KiB clusters, the bitmaps "fine" (512-byte granularity) and "coarse", then
     * the qemu-io {@code writes}, then the disabled bitmap "off".
     */
    static Path threeBitmaps(Path dir, String... writes) {
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "-o", "cluster_size=4k", "img.qcow2", "64M");
        Qemu.imgOk(dir, "bitmap", "--add", "-g", "512", "img.qcow2", "fine");
        Qemu.imgOk(dir, "bitmap", "--add", "img.qcow2", "coarse");
        Qemu.ioOk(dir, "img.qcow2", writes);
        Qemu.imgOk(dir, "bitmap", "--add", "--disable", "img.qcow2", "off");
        return dir.resolve("img.qcow2");
    }

    /** Opens {@code image}'s bitmaps, runs {@code edit}, stores them; returns the copies made at each sync point. */
    static List<Path> record(Path dir, Path image, Edit edit) throws IOException {
        CrashCopies crashes = new CrashCopies(dir, image);
        try (ImageFile f = ImageFile.openReadWrite(image)) {
            Qcow2Metadata img = Qcow2Metadata.load(f);
            PersistentBitmaps pb = PersistentBitmaps.open(f, img, CrashCopies.refcounts(f, img), () -> crashes.take(f));
            edit.apply(pb);
            pb.store(pb.header());
        }
        return crashes.copies();
    }

    /**
     * Asserts that qemu-img check finds no corruption in {@code crash} (leaks allowed) and that its bitmaps are
     * ignored (autoclear bit clear), all in use (inconsistent), or exactly {@code before} or {@code after}.
     */
    static void assertSafe(Path dir, Path crash, BitmapReader.Bitmaps before, BitmapReader.Bitmaps after)
            throws IOException {
        Qemu.Result check = Qemu.img(dir, "check", crash.getFileName().toString());
        assertThat(check.exitCode()).as(crash + ": " + check.out() + check.err()).isIn(0, 3);
        BitmapReader.Bitmaps b = BitmapReader.read(crash);
        boolean ignored = (b.autoclear() & 1) == 0;
        boolean inconsistent = b.bitmaps().stream().allMatch(x -> (x.flags() & 1) != 0);
        boolean old = b.withoutLayout().equals(before.withoutLayout());
        boolean stored = b.withoutLayout().equals(after.withoutLayout());
        assertThat(ignored || inconsistent || old || stored).as(crash + ": " + b).isTrue();
    }
}
