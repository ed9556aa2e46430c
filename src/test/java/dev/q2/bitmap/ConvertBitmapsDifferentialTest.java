package dev.q2.bitmap;

import dev.q2.testutil.BitmapReader;
import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuText;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * q2 convert --bitmaps against qemu-img convert --bitmaps: sources with bitmaps of 512 B to 16 MiB granularity,
 * enabled and disabled, one or two in use, a v2 image, a raw file; new qcow2 targets of other cluster sizes,
 * compressed, v2, raw, and -n into an image that has bitmaps of its own. Same exit code and stderr, byte-identical
 * targets (bitmap directory and bits compared through {@link BitmapReader} first, for a readable failure).
 */
@Tag("qemu")
class ConvertBitmapsDifferentialTest {
    @TempDir
    static Path src;
    @TempDir
    Path dir;

    @BeforeAll
    static void makeSources() throws Exception {
        if (!Qemu.available()) {
            return;
        }
        BitmapImages.fineMidBig(src, "s.qcow2", "cluster_size=4k", "256M",
                new String[] {"write -P 1 0 300k", "write 100M 1M", "write 255M 1M"}, "write 50M 64k");
        Files.copy(src.resolve("s.qcow2"), src.resolve("inuse.qcow2"));
        for (String b : List.of("mid", "big")) {
            int flags = BitmapReader.read(src.resolve("inuse.qcow2")).named(b).flags();
            BitmapReader.setFlags(src.resolve("inuse.qcow2"), b, flags | 1);
        }
        Qemu.imgOk(src, "create", "-q", "-f", "qcow2", "-o", "compat=0.10", "v2.qcow2", "16M");
        Qemu.imgOk(src, "create", "-q", "-f", "raw", "disk.raw", "16M");
        Qemu.imgOk(src, "create", "-q", "-f", "qcow2", "none.qcow2", "16M");
        Qemu.imgOk(src, "create", "-q", "-f", "qcow2", "target.qcow2", "256M");
        Qemu.imgOk(src, "bitmap", "--add", "target.qcow2", "own");
        Qemu.imgOk(src, "create", "-q", "-f", "qcow2", "clash.qcow2", "256M");
        Qemu.imgOk(src, "bitmap", "--add", "clash.qcow2", "mid");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "--bitmaps -O qcow2 SRC/s.qcow2 @", "--bitmaps -O qcow2 -o cluster_size=512 SRC/s.qcow2 @",
        "--bitmaps -O qcow2 -o cluster_size=2M,extended_l2=on SRC/s.qcow2 @",
        "--bitmaps -c -O qcow2 SRC/s.qcow2 @", "--bitmaps -O qcow2 SRC/inuse.qcow2 @",
        "--bitmaps --skip-broken-bitmaps -O qcow2 SRC/inuse.qcow2 @", "--skip-broken-bitmaps -O qcow2 SRC/s.qcow2 @",
        "--bitmaps -O raw SRC/s.qcow2 @", "--bitmaps -O qcow2 -o compat=0.10 SRC/s.qcow2 @",
        "--bitmaps -O qcow2 SRC/v2.qcow2 @", "--bitmaps -O qcow2 SRC/disk.raw @",
        "--bitmaps -O qcow2 SRC/none.qcow2 @",
        "-n --bitmaps -O qcow2 SRC/s.qcow2 T/target.qcow2", "-n --bitmaps -O qcow2 SRC/s.qcow2 T/clash.qcow2",
        "-n --bitmaps --skip-broken-bitmaps -O qcow2 SRC/inuse.qcow2 T/target.qcow2",
        "-n --bitmaps -O raw SRC/s.qcow2 T/disk.raw"})
    void sameTargetAndWords(String args) throws Exception {
        Qemu.assumeAvailable();
        Path q = dir.resolve("q");
        Path o = dir.resolve("o");
        Files.createDirectories(q);
        Files.createDirectories(o);
        String target = null;
        for (String w : args.split(" ")) {
            if (w.startsWith("T/")) {
                target = w.substring(2);
                Files.copy(src.resolve(target), q.resolve(target), StandardCopyOption.REPLACE_EXISTING);
                Files.copy(src.resolve(target), o.resolve(target), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        String out = target != null ? target : "t.qcow2";
        Qemu.Result qr = Qemu.img(q, argv(args));
        Cli.Result or = Cli.runIn(o, argv(args));
        String why = args + "\nqemu-img: " + qr.exitCode() + " " + qr.err() + "\nq2: " + or.exitCode() + " " + or.err();
        assertThat(or.exitCode()).as(why).isEqualTo(qr.exitCode());
        assertThat(or.err()).as(why).isEqualTo(QemuText.normalize(qr.err()));
        assertThat(Files.exists(o.resolve(out))).as(why).isEqualTo(Files.exists(q.resolve(out)));
        if (Files.exists(q.resolve(out))) {
            if (args.contains("-O qcow2") && !args.contains("compat=0.10")) {
                assertThat(BitmapReader.read(o.resolve(out))).as(why).isEqualTo(BitmapReader.read(q.resolve(out)));
            }
            assertThat(Files.mismatch(q.resolve(out), o.resolve(out))).as(why).isEqualTo(-1L);
        }
    }

    private static String[] argv(String args) {
        List<String> a = new ArrayList<>();
        a.add("convert");
        for (String w : args.split(" ")) {
            a.add(w.equals("@") ? "t.qcow2" : w.startsWith("T/") ? w.substring(2) : w.replace("SRC/", src + "/"));
        }
        return a.toArray(String[]::new);
    }
}
