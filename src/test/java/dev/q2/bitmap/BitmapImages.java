package dev.q2.bitmap;

import dev.q2.testutil.Qemu;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Images with persistent bitmaps for the bitmap tests, made by qemu-img and qemu-io. */
final class BitmapImages {
    private BitmapImages() {
    }

    /**
     * {@code name} in {@code dir}, {@code size} bytes (created with {@code -o opts} unless null), with the bitmaps
     * "fine" (512-byte granularity), "mid" and "big" (16 MiB): the qemu-io writes {@code before}, then "mid"
     * disabled, then the write {@code after}, so that bits are set before and after a bitmap is disabled.
     */
    static void fineMidBig(Path dir, String name, String opts, String size, String[] before, String after) {
        List<String> create = new ArrayList<>(List.of("create", "-q", "-f", "qcow2"));
        if (opts != null) {
            create.addAll(List.of("-o", opts));
        }
        create.addAll(List.of(name, size));
        Qemu.imgOk(dir, create.toArray(String[]::new));
        Qemu.imgOk(dir, "bitmap", "--add", "-g", "512", name, "fine");
        Qemu.imgOk(dir, "bitmap", "--add", name, "mid");
        Qemu.imgOk(dir, "bitmap", "--add", "-g", "16M", name, "big");
        Qemu.ioOk(dir, name, before);
        Qemu.imgOk(dir, "bitmap", "--disable", name, "mid");
        Qemu.ioOk(dir, name, after);
    }
}
