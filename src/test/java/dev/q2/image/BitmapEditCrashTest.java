package dev.q2.image;

import dev.q2.testutil.BitmapReader;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Crash safety of q2 bitmap's edits (dev.q2.bitmap over PersistentBitmaps): an image with three bitmaps goes
 * through what one q2 bitmap call does (open and mark in use; create a bitmap and set bits in it; remove one at
 * once; clear one; enable one; store on close), and the file is copied at every sync point (where a crash would
 * leave it, since the writes between two syncs have no order). Every copy must be an image qemu-img check accepts
 * (leaks at most), that {@code check -r all} repairs to a clean one, with the guest data untouched, and whose
 * bitmaps are either ignored (autoclear bit clear), all marked in use (inconsistent, as QEMU reports them), or
 * exactly those before or those after the call.
 */
@Tag("qemu")
class BitmapEditCrashTest extends QemuTest {
    @Test
    void everySyncPointOfAnEditLeavesARepairableImage() throws Exception {
        Path image = BitmapCrashPoints.threeBitmaps(dir, "write -P 0x5a 40M 8k", "write -P 0x33 1M 3M");
        Files.copy(image, dir.resolve("original.qcow2"));
        BitmapReader.Bitmaps before = BitmapReader.read(image);

        List<Path> crashes = BitmapCrashPoints.record(dir, image, pb -> {
            pb.create("new", 12);
            pb.forEachDirty("fine", (a, b) -> pb.setDirty("new", a, b)); // --merge fine
            pb.remove("coarse");
            pb.clear("fine");
            pb.setDirty("fine", 63L << 20, 64L << 20);
            pb.setEnabled("off", true);
        });
        BitmapReader.Bitmaps after = BitmapReader.read(image);
        assertThat(after.bitmaps()).extracting(BitmapReader.Bitmap::name).containsExactly("fine", "off", "new");
        assertThat(after.named("fine").dirty()).containsExactly("66060288-67108864");
        assertThat(after.named("new").dirty()).isEqualTo(List.of("1048576-4194304", "41943040-41951232"));
        assertThat(after.bitmaps()).allMatch(b -> (b.flags() & 1) == 0);
        assertThat(crashes).hasSizeGreaterThanOrEqualTo(8);

        for (Path crash : crashes) {
            String name = crash.getFileName().toString();
            BitmapCrashPoints.assertSafe(dir, crash, before, after);
            img("check", "-q", "-r", "all", name);
            img("check", name);
            img("compare", "-q", "original.qcow2", name);
        }
        img("check", "img.qcow2");
    }
}
