package dev.q2.info;

import dev.q2.testutil.Cli;
import dev.q2.testutil.ImageBytes;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The bitmaps extension and bitmap directory as QEMU checks them when it opens an image (qcow2_read_extensions,
 * bitmap_list_load, check_dir_entry), and header extension lengths (the end marker's too): info, check, check -r
 * all, map and convert refuse (or accept) each damaged image as qemu-img does, with its message and exit code.
 * Each case is a list of patches {@code field=value}: ext.len, ext.reserved, ext.nb, ext.dirsize, ext.diroff (added
 * to the stored value for the last two), end.len, and e.FIELD for the first directory entry.
 */
@Tag("qemu")
class BitmapExtensionDifferentialTest extends QemuTest {
    private static final int BITMAPS = 0x23852875;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"ext.len=16", "ext.len=32", "ext.len=70000", "ext.reserved=1", "ext.nb=0", "ext.nb=2",
        "ext.nb=65536", "ext.diroff=+8", "ext.dirsize=0", "ext.dirsize=67108872", "ext.dirsize=-8", "ext.dirsize=+8",
        "end.len=8", "end.len=4000", "end.len=100000", "e.toff=0", "e.toff=+8", "e.toff=0x8000000000050000",
        "e.toff=0x8000000000050000 e.flags=1", "e.tsize=0", "e.tsize=0x8000001", "e.tsize=0x4001", "e.gran=8",
        "e.gran=9", "e.gran=31", "e.gran=32", "e.flags=1", "e.flags=3", "e.flags=4", "e.type=2", "e.namesz=1024",
        "e.namesz=1", "e.extra=8", "e.tsize=0 e.flags=1", "e.gran=9 e.flags=1", "noautoclear ext.len=16",
        "none"})
    void openedOrRefusedAsByQemuImg(String patches) throws Exception {
        img("create", "-q", "-f", "qcow2", "img.qcow2", "64M");
        img("bitmap", "--add", "img.qcow2", "bm0");
        io("img.qcow2", "write -P 9 0 64k");
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("img.qcow2").toFile(), "rw")) {
            for (String p : patches.split(" ")) {
                patch(f, p);
            }
        }
        String[][] commands = {{"info"}, {"check"}, {"check", "-r", "all"}, {"map", "--output=json"},
            {"convert", "-O", "raw"}};
        for (String[] c : commands) {
            Files.copy(dir.resolve("img.qcow2"), dir.resolve("q.qcow2"), StandardCopyOption.REPLACE_EXISTING);
            Files.copy(dir.resolve("img.qcow2"), dir.resolve("m.qcow2"), StandardCopyOption.REPLACE_EXISTING);
            boolean convert = c[0].equals("convert");
            Qemu.Result q = Qemu.img(dir, args(c, "q.qcow2", convert ? "q.raw" : null));
            Cli.Result m = Cli.runIn(dir, args(c, "m.qcow2", convert ? "m.raw" : null));
            String what = patches + ": " + String.join(" ", c);
            assertThat(m.err()).as(what).isEqualTo(q.err().replace("qemu-img: ", "q2: ").replace("q.qcow2", "m.qcow2"));
            assertThat(m.exitCode()).as(what).isEqualTo(q.exitCode());
            if (!c[0].equals("info")) {
                assertThat(m.out()).as(what).isEqualTo(q.out().replace("q.qcow2", "m.qcow2"));
            }
        }
    }

    private static String[] args(String[] command, String image, String target) {
        String[] a = new String[command.length + (target == null ? 1 : 2)];
        System.arraycopy(command, 0, a, 0, command.length);
        a[command.length] = image;
        if (target != null) {
            a[command.length + 1] = target;
        }
        return a;
    }

    private static void patch(RandomAccessFile f, String p) throws IOException {
        if (p.equals("none")) {
            return;
        }
        if (p.equals("noautoclear")) {
            f.seek(88);
            f.writeLong(0);
            return;
        }
        String field = p.substring(0, p.indexOf('='));
        String v = p.substring(p.indexOf('=') + 1);
        boolean relative = v.startsWith("+") || v.startsWith("-");
        long value = v.startsWith("0x") ? Long.parseUnsignedLong(v.substring(2), 16) : Long.parseLong(v);
        long ext = ImageBytes.findExtension(f, BITMAPS);
        long end = ImageBytes.findExtension(f, 0);
        f.seek(ext + 24);
        long dirOffset = f.readLong();
        switch (field) {
            case "ext.len" -> put(f, ext + 4, 4, value);
            case "ext.nb" -> put(f, ext + 8, 4, value);
            case "ext.reserved" -> put(f, ext + 12, 4, value);
            case "ext.dirsize" -> put(f, ext + 16, 8, relative ? get(f, ext + 16, 8) + value : value);
            case "ext.diroff" -> put(f, ext + 24, 8, relative ? dirOffset + value : value);
            case "end.len" -> put(f, end + 4, 4, value);
            case "e.toff" -> put(f, dirOffset, 8, relative ? get(f, dirOffset, 8) + value : value);
            case "e.tsize" -> put(f, dirOffset + 8, 4, value);
            case "e.flags" -> put(f, dirOffset + 12, 4, value);
            case "e.type" -> put(f, dirOffset + 16, 1, value);
            case "e.gran" -> put(f, dirOffset + 17, 1, value);
            case "e.namesz" -> put(f, dirOffset + 18, 2, value);
            case "e.extra" -> put(f, dirOffset + 20, 4, value);
            default -> throw new IllegalArgumentException(p);
        }
    }

    private static long get(RandomAccessFile f, long at, int bytes) throws IOException {
        f.seek(at);
        long v = 0;
        for (int i = 0; i < bytes; i++) {
            v = (v << 8) | f.readUnsignedByte();
        }
        return v;
    }

    private static void put(RandomAccessFile f, long at, int bytes, long value) throws IOException {
        f.seek(at);
        for (int i = bytes - 1; i >= 0; i--) {
            f.write((int) (value >>> (8 * i)));
        }
    }
}
