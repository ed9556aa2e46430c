package dev.q2.bitmap;

import dev.q2.image.Devices;
import dev.q2.image.PersistentBitmaps;
import dev.q2.image.Qcow2Disk;
import dev.q2.image.Qcow2Metadata;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Consumer;

/**
 * qemu-img convert --bitmaps: the persistent bitmaps of the source's top image copied into a qcow2 target, as
 * qemu-img 7.2's convert_check_bitmaps and convert_copy_bitmaps do. QEMU walks the source's bitmaps newest first
 * (its list is built by inserting each loaded bitmap at its head), so an inconsistent bitmap reported, a warning
 * printed or a failure met is the one latest in the source's directory; the target's directory ends up in the
 * source's order. Each copy has the source's granularity and enabled state and all its bits.
 */
public final class BitmapCopier {
    private BitmapCopier() {
    }

    /** A refusal of convert --bitmaps: qemu-img's message, and the line it prints after it (or null). */
    public static final class BitmapCopyException extends dev.q2.Q2Exception {
        private final String hint;

        BitmapCopyException(String message, String hint) {
            super(Category.UNSUPPORTED, message);
            this.hint = hint;
        }

        public String hint() {
            return hint;
        }
    }

    /** The source's bitmaps, newest first as QEMU walks them, or null when the source has no bitmap support. */
    private static List<String> walk(PersistentBitmaps pb) {
        List<String> names = new ArrayList<>(pb.names());
        Collections.reverse(names);
        return names;
    }

    private static PersistentBitmaps load(ImageFile f, String format) throws IOException {
        if (!format.equals("qcow2")) {
            return null;
        }
        Qcow2Metadata img = Qcow2Metadata.load(f);
        if (img.header().version() < 3) {
            return null;
        }
        return PersistentBitmaps.readOnly(f, img);
    }

    private static String format(Path src, String format) throws IOException {
        return format != null ? format : Devices.probe(src);
    }

    /**
     * convert_check_bitmaps, before the target is created: the source must support bitmaps (a qcow2 v3 image), and
     * without {@code skipBroken} none may be inconsistent.
     */
    public static void check(Path src, String srcFormat, boolean skipBroken) throws IOException {
        try (ImageFile f = ImageFile.openReadOnly(src)) {
            PersistentBitmaps pb = load(f, format(src, srcFormat));
            if (pb == null) {
                throw new BitmapCopyException("Source lacks bitmap support", null);
            }
            if (!skipBroken) {
                for (String name : walk(pb)) {
                    if (pb.inconsistent(name)) {
                        throw new BitmapCopyException("Cannot copy inconsistent bitmap '" + name + "'",
                                "Try --skip-broken-bitmaps, or use 'qemu-img bitmap --remove' to delete it");
                    }
                }
            }
        }
    }

    /**
     * convert_copy_bitmaps, after the data: every consistent bitmap of {@code src} added to the qcow2 target
     * {@code disk}, open for writing (the bitmaps are stored when it closes), with
     * the same granularity, enabled state and bits. Inconsistent bitmaps are skipped with {@code skipBroken}
     * ({@code warnings} receives qemu-img's warning for each).
     *
     * @throws BitmapCopyException "Failed to create bitmap NAME: reason" when the target refuses one
     */
    public static void copy(Path src, String srcFormat, Qcow2Disk disk, boolean skipBroken,
                            Consumer<String> warnings) throws IOException {
        try (ImageFile f = ImageFile.openReadOnly(src)) {
            PersistentBitmaps from = load(f, format(src, srcFormat));
            if (from == null) {
                throw new BitmapCopyException("Source lacks bitmap support", null);
            }
            {
                PersistentBitmaps to = disk.persistentBitmaps();
                for (String name : walk(from)) {
                    if (from.inconsistent(name)) {
                        if (skipBroken) {
                            warnings.accept("Skipping inconsistent bitmap '" + name + "'");
                            continue;
                        }
                        throw new BitmapCopyException("Failed to populate bitmap " + name + ": Bitmap '" + name
                                + "' is inconsistent and cannot be used", null);
                    }
                    String refusal = BitmapEditor.create(disk, to, name, from.granularity(name));
                    if (refusal != null) {
                        throw new BitmapCopyException("Failed to create bitmap " + name + ": " + refusal, null);
                    }
                    if (!from.enabled(name)) {
                        to.setEnabled(name, false);
                    }
                    if (from.diskSize() != to.diskSize()) {
                        to.remove(name);
                        throw new BitmapCopyException("Failed to populate bitmap " + name + ": Bitmaps are of"
                                + " different sizes (destination size is " + to.diskSize() + ", source size is "
                                + from.diskSize() + ") and can't be merged", null);
                    }
                    from.forEachDirty(name, (a, b) -> to.setDirty(name, a, b));
                }
            }
        }
    }
}
