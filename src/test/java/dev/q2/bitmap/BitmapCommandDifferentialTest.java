package dev.q2.bitmap;

import dev.q2.testutil.BitmapReader;
import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuText;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * q2 bitmap against qemu-img bitmap: the same arguments on copies of the same image (qcow2 with 512 B, 4 KiB,
 * 64 KiB and 2 MiB clusters, extended L2, bitmaps from 512 B to 16 MiB granularity, enabled and disabled, holding
 * bits, one in use, a v2 image, a raw file) must give the same exit code and stderr and leave byte-identical files
 * (so the same bitmap directory, flags, tables and every bit, compared too through {@link BitmapReader} for a
 * readable failure), and q2's file must be clean for qemu-img check.
 */
@Tag("qemu")
class BitmapCommandDifferentialTest {
    @TempDir
    static Path bases;
    @TempDir
    Path dir;

    @BeforeAll
    static void makeImages() throws Exception {
        if (!Qemu.available()) {
            return;
        }
        // 64 KiB clusters: four bitmaps, bits set before and after one is disabled
        BitmapImages.fineMidBig(bases, "c64k.qcow2", null, "64M",
                new String[] {"write -P 1 0 300k", "write 40M 1M", "write 63M 1M"}, "write 20M 64k");
        // 4 KiB clusters, a table of several clusters for the 512 B bitmap
        Qemu.imgOk(bases, "create", "-q", "-f", "qcow2", "-o", "cluster_size=4k", "c4k.qcow2", "256M");
        Qemu.imgOk(bases, "bitmap", "--add", "-g", "512", "c4k.qcow2", "fine");
        Qemu.imgOk(bases, "bitmap", "--add", "-g", "1M", "c4k.qcow2", "coarse");
        Qemu.ioOk(bases, "c4k.qcow2", "write 0 5M", "write 100M 3M", "write 255M 1M");
        // 512 B clusters
        Qemu.imgOk(bases, "create", "-q", "-f", "qcow2", "-o", "cluster_size=512", "c512.qcow2", "9M");
        Qemu.imgOk(bases, "bitmap", "--add", "-g", "1k", "c512.qcow2", "b");
        Qemu.ioOk(bases, "c512.qcow2", "write 1M 70k");
        // 2 MiB clusters, extended L2, a size that is no multiple of the granularity
        Qemu.imgOk(bases, "create", "-q", "-f", "qcow2", "-o", "cluster_size=2M,extended_l2=on", "ext.qcow2",
                "104858112");
        Qemu.imgOk(bases, "bitmap", "--add", "-g", "4k", "ext.qcow2", "x");
        Qemu.ioOk(bases, "ext.qcow2", "write 99M 1M");
        // a bitmap in use (QEMU: inconsistent)
        Files.copy(bases.resolve("c64k.qcow2"), bases.resolve("inuse.qcow2"));
        int flags = BitmapReader.read(bases.resolve("inuse.qcow2")).named("mid").flags();
        BitmapReader.setFlags(bases.resolve("inuse.qcow2"), "mid", flags | 1);
        // merge sources: other cluster size and granularity, another size
        Qemu.imgOk(bases, "create", "-q", "-f", "qcow2", "-o", "cluster_size=2M", "src.qcow2", "64M");
        Qemu.imgOk(bases, "bitmap", "--add", "-g", "1k", "src.qcow2", "s");
        Qemu.ioOk(bases, "src.qcow2", "write 3M 5k", "write 50M 1M");
        Files.copy(bases.resolve("inuse.qcow2"), bases.resolve("srcinuse.qcow2"));
        Qemu.imgOk(bases, "create", "-q", "-f", "qcow2", "small.qcow2", "32M");
        Qemu.imgOk(bases, "bitmap", "--add", "small.qcow2", "s");
        // no bitmaps, v2, raw, 4 TiB
        Qemu.imgOk(bases, "create", "-q", "-f", "qcow2", "empty.qcow2", "64M");
        Qemu.imgOk(bases, "create", "-q", "-f", "qcow2", "-o", "compat=0.10", "v2.qcow2", "64M");
        Qemu.imgOk(bases, "create", "-q", "-f", "raw", "disk.raw", "64M");
        Qemu.imgOk(bases, "create", "-q", "-f", "qcow2", "huge.qcow2", "4T");
    }

    static Stream<Arguments> cases() {
        List<Arguments> c = new ArrayList<>();
        for (String img : List.of("c64k.qcow2", "c4k.qcow2", "c512.qcow2", "ext.qcow2")) {
            c.add(Arguments.of(img, "--add @ new"));
            c.add(Arguments.of(img, "--add -g 512 --disable @ new"));
            c.add(Arguments.of(img, "--add -g 16M @ new"));
            c.add(Arguments.of(img, "--remove @ " + first(img)));
            c.add(Arguments.of(img, "--clear @ " + first(img)));
            c.add(Arguments.of(img, "--disable --enable @ " + first(img)));
            c.add(Arguments.of(img, "--add --merge " + first(img) + " @ copy"));
            c.add(Arguments.of(img, "--add -g 2G --merge " + first(img) + " --disable @ copy"));
        }
        String[] more = {
            "c64k.qcow2|--merge fine @ big", "c64k.qcow2|--merge big @ fine", "c64k.qcow2|--remove @ mid",
            "c64k.qcow2|--remove --add @ mid", "c64k.qcow2|--add --remove @ n", "c64k.qcow2|--clear --merge big @ mid",
            "c64k.qcow2|--enable @ mid", "c64k.qcow2|--merge s -b SRC/src.qcow2 @ fine",
            "c64k.qcow2|--merge s -b SRC/src.qcow2 -F qcow2 @ big", "c64k.qcow2|--merge s -b SRC/small.qcow2 @ big",
            "c64k.qcow2|--merge mid -b SRC/srcinuse.qcow2 @ big", "c64k.qcow2|--merge nope -b SRC/src.qcow2 @ big",
            "c64k.qcow2|--merge s -b SRC/disk.raw -F raw @ big", "c64k.qcow2|--merge s -b SRC/missing.qcow2 @ big",
            "c64k.qcow2|--remove --remove @ fine", "c64k.qcow2|--remove @ fine --remove @",
            "c64k.qcow2|--add @ fine", "c64k.qcow2|--add @ ", "c64k.qcow2|--clear @ nope",
            "c64k.qcow2|--enable @ nope", "c64k.qcow2|--merge nope @ fine", "c64k.qcow2|--merge fine @ nope",
            // granularity: QEMU keeps only the low 32 bits of -g
            "c64k.qcow2|--add -g 256 @ x", "c64k.qcow2|--add -g 1000 @ x", "c64k.qcow2|--add -g 4G @ x",
            "c64k.qcow2|--add -g 4294971392 @ x", "c64k.qcow2|--add -g 1.5k @ x", "c64k.qcow2|--add -g x @ x",
            "c64k.qcow2|--add -g -1 @ x", "c64k.qcow2|--add -g 99999999999999999999 @ x",
            "c64k.qcow2|--add --granularity=8k @ x", "c64k.qcow2|--ad --dis @ x",
            // in use
            "inuse.qcow2|--add @ n", "inuse.qcow2|--remove @ mid", "inuse.qcow2|--clear @ mid",
            "inuse.qcow2|--enable @ mid", "inuse.qcow2|--disable @ mid", "inuse.qcow2|--merge mid @ fine",
            "inuse.qcow2|--merge fine @ mid", "inuse.qcow2|--add @ mid",
            "inuse.qcow2|--merge mid -b SRC/inuse.qcow2 @ fine",
            // other images
            "empty.qcow2|--add @ a", "empty.qcow2|--remove @ a", "empty.qcow2|--add --remove @ a",
            "v2.qcow2|--add @ a", "v2.qcow2|--remove @ a", "disk.raw|--add @ a", "disk.raw|--clear @ a",
            "disk.raw|-f raw --add -g 1k @ a", "disk.raw|-f qcow2 --add @ a", "huge.qcow2|--add -g 512 @ a",
            "huge.qcow2|--add -g 1k @ a", "missing.qcow2|--add @ a",
            // the command line
            "c64k.qcow2|@ a", "c64k.qcow2|--add @", "c64k.qcow2|--add --disabled @ a", "c64k.qcow2|-x @ a",
            "c64k.qcow2|--add @ a -g", "c64k.qcow2|--merge", "c64k.qcow2|--remove -g 1k @ a",
            "c64k.qcow2|--remove -F raw @ a", "c64k.qcow2|--remove -b x @ a", "c64k.qcow2|--add @ a -- -y",
            "c64k.qcow2|--add -- @ a", "c64k.qcow2|--add @ a b"};
        for (String m : more) {
            String[] p = m.split("\\|");
            c.add(Arguments.of(p[0], p[1]));
        }
        return c.stream();
    }

    private static String first(String img) {
        return switch (img) {
            case "c64k.qcow2", "c4k.qcow2" -> "fine";
            case "c512.qcow2" -> "b";
            default -> "x";
        };
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("cases")
    void sameFilesAndWords(String image, String args) throws Exception {
        Qemu.assumeAvailable();
        String ext = image.endsWith(".raw") ? ".raw" : ".qcow2";
        Path q = dir.resolve("q" + ext);
        Path o = dir.resolve("o" + ext);
        if (Files.exists(bases.resolve(image))) {
            Files.copy(bases.resolve(image), q, StandardCopyOption.REPLACE_EXISTING);
            Files.copy(bases.resolve(image), o, StandardCopyOption.REPLACE_EXISTING);
        }
        Qemu.Result qr = Qemu.img(dir, argv(args, "bitmap", q.getFileName().toString()));
        Cli.Result or = Cli.runIn(dir, argv(args, "bitmap", o.getFileName().toString()));
        String why = args + "\nqemu-img: " + qr.exitCode() + " " + qr.err() + "\nq2: " + or.exitCode() + " " + or.err();
        assertThat(or.exitCode()).as(why).isEqualTo(qr.exitCode());
        assertThat(QemuText.nodeNames(or.err()).replace("'o" + ext + "'", "'FILE'"))
                .as(why).isEqualTo(QemuText.normalize(qr.err()).replace("'q" + ext + "'", "'FILE'"));
        assertThat(or.out()).isEqualTo(qr.out());
        if (or.err().contains("#block")) {
            assertThat(or.err()).containsPattern("#block1\\d\\d\\b");
        }
        if (!Files.exists(q)) {
            assertThat(o).doesNotExist();
            return;
        }
        if (ext.equals(".qcow2") && !image.equals("v2.qcow2")) {
            assertThat(BitmapReader.read(o)).as(why).isEqualTo(BitmapReader.read(q));
        }
        assertThat(Files.mismatch(q, o)).as(why + "\nfirst differing byte").isEqualTo(-1L);
        if (ext.equals(".qcow2")) {
            Qemu.Result check = Qemu.img(dir, "check", o.getFileName().toString());
            assertThat(check.exitCode()).as(check.out() + check.err()).isZero();
        }
    }

    @Test
    void severalCallsInARowStayIdentical() throws Exception {
        Qemu.assumeAvailable();
        Files.copy(bases.resolve("c4k.qcow2"), dir.resolve("q.qcow2"));
        Files.copy(bases.resolve("c4k.qcow2"), dir.resolve("o.qcow2"));
        String[] steps = {"--add -g 64k @ a", "--merge fine @ a", "--remove @ fine", "--add --disable @ b",
            "--merge coarse @ b", "--clear @ coarse", "--remove @ a", "--enable @ b"};
        for (String s : steps) {
            Qemu.imgOk(dir, argv(s, "bitmap", "q.qcow2"));
            assertThat(Cli.runIn(dir, argv(s, "bitmap", "o.qcow2")).exitCode()).isZero();
            Qemu.ioOk(dir, "q.qcow2", "write 7M 64k");
            Qemu.ioOk(dir, "o.qcow2", "write 7M 64k");
            assertThat(Files.mismatch(dir.resolve("q.qcow2"), dir.resolve("o.qcow2"))).as(s).isEqualTo(-1L);
        }
    }

    /** The arguments of a case: "@" is the image, "SRC/" the folder of the base images. */
    private static String[] argv(String args, String command, String file) {
        List<String> a = new ArrayList<>();
        a.add(command);
        for (String w : args.split(" ", -1)) {
            if (w.isEmpty() && !args.endsWith(" ")) {
                continue;
            }
            a.add(w.equals("@") ? file : w.replace("SRC/", bases.toString() + "/"));
        }
        return a.toArray(String[]::new);
    }
}
