package dev.q2.image;

import dev.q2.testutil.BitmapReader;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Crash ordering of {@link PersistentBitmaps}: the file is copied at every sync point of the open (in_use marking)
 * and of the store on close, as a crash there would leave it. Every copy must be free of corruptions for qemu-img
 * check (leaked clusters are allowed), and its bitmaps must never look consistent while holding wrong bits: either
 * the bitmaps extension is off (autoclear bit clear: QEMU ignores the bitmaps), or the bitmaps are marked in use
 * (inconsistent), or they are the old ones untouched, or the new ones with the new bits.
 */
@Tag("qemu")
class PersistentBitmapsCrashTest extends QemuTest {
    @Test
    void everySyncPointLeavesASafeImage() throws Exception {
        Path image = BitmapCrashPoints.threeBitmaps(dir, "write 40M 8k");
        BitmapReader.Bitmaps before = BitmapReader.read(image);

        List<Path> crashes = BitmapCrashPoints.record(dir, image, pb -> {
            pb.markDirty(0, 3 << 20); // several clusters of bits of "fine"
            pb.markDirty(63L << 20, 1 << 20);
        });
        BitmapReader.Bitmaps after = BitmapReader.read(image);
        assertThat(after.named("fine").dirty()).containsExactly("0-3145728", "41943040-41951232",
                "66060288-67108864");
        assertThat(after.named("off").dirty()).isEmpty();
        assertThat(after.bitmaps()).allMatch(b -> (b.flags() & 1) == 0);
        assertThat(crashes).hasSizeGreaterThanOrEqualTo(6);

        for (Path crash : crashes) {
            BitmapCrashPoints.assertSafe(dir, crash, before, after);
        }
        assertThat(Qemu.img(dir, "check", "img.qcow2").exitCode()).isZero();
    }
}
