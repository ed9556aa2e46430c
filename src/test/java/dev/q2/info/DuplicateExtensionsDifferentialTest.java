package dev.q2.info;

import dev.q2.testutil.Cli;
import dev.q2.testutil.ImageBytes;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Header extensions of one type given more than once. QEMU reads them in order and keeps the last data file name,
 * feature name table and bitmaps extension (checking every bitmaps extension on the way), and when it rewrites the
 * header it writes the kept ones and the unknown extensions in reverse order (qcow2_read_extensions adds them at
 * the head of a list). See also DuplicateBackingFormatDifferentialTest.
 */
@Tag("qemu")
class DuplicateExtensionsDifferentialTest extends QemuTest {
    private static final int BACKING_FORMAT = 0xe2792aca;
    private static final int DATA_FILE = 0x44415441;
    private static final int FEATURE_NAMES = 0x6803f857;
    private static final int BITMAPS = 0x23852875;

    @Test
    void theLastDataFileNameWins() throws IOException {
        ok(img("create", "-q", "-f", "qcow2", "-o", "data_file=d1.raw", "t.qcow2", "64M"));
        ok(img("create", "-q", "-f", "raw", "d2.raw", "64M"));
        ok(io("t.qcow2", "write -P 7 0 64k"));
        ImageBytes.appendExtensions(dir.resolve("t.qcow2"), ImageBytes.extension(DATA_FILE, ascii("d2.raw")));
        assertThat(img("info", "t.qcow2").out()).contains("data file: d2.raw");
        sameAsQemu("info", "t.qcow2");
        sameAsQemu("info", "--output=json", "t.qcow2");
        sameAsQemu("map", "--output=json", "t.qcow2");
        sameAsQemu("check", "t.qcow2");
        inspectNamesTheLastDataFile("t.qcow2");
    }

    @Test
    void theLastFeatureNameTableNamesAnUnknownFeature() throws IOException {
        ok(img("create", "-q", "-f", "qcow2", "t.qcow2", "64M"));
        ImageBytes.appendExtensions(dir.resolve("t.qcow2"),
                ImageBytes.extension(FEATURE_NAMES, featureName(20, "first table")),
                ImageBytes.extension(FEATURE_NAMES, featureName(20, "second table")));
        patchLong("t.qcow2", 72, readLong("t.qcow2", 72) | 1L << 20); // incompatible bit 20
        Qemu.Result q = Qemu.img(dir, "info", "t.qcow2");
        assertThat(q.err()).contains("second table");
        sameAsQemu("info", "t.qcow2");
        sameAsQemu("check", "t.qcow2");
    }

    @Test
    void everyBitmapsExtensionIsCheckedAndTheLastIsUsed() throws IOException {
        ok(img("create", "-q", "-f", "qcow2", "t.qcow2", "64M"));
        ok(img("bitmap", "--add", "t.qcow2", "b0"));
        byte[] good = extensionData(dir.resolve("t.qcow2"), BITMAPS);
        byte[] zero = good.clone();
        ByteBuffer.wrap(zero).putInt(0, 0); // nb_bitmaps 0
        Files.copy(dir.resolve("t.qcow2"), dir.resolve("late.qcow2"));
        Files.copy(dir.resolve("t.qcow2"), dir.resolve("early.qcow2"));
        ImageBytes.appendExtensions(dir.resolve("late.qcow2"), ImageBytes.extension(BITMAPS, zero));
        ImageBytes.appendExtensions(dir.resolve("early.qcow2"), ImageBytes.extension(BITMAPS, good));
        for (String f : new String[] {"late.qcow2", "early.qcow2"}) {
            sameAsQemu("info", f);
            sameAsQemu("check", f);
        }
        assertThat(Qemu.img(dir, "info", "late.qcow2").err()).contains("zero bitmaps");
    }

    @Test
    void amendWritesTheKeptExtensionsAndTheUnknownOnesReversed() throws IOException {
        ok(img("create", "-q", "-f", "raw", "base.raw", "64M"));
        ok(img("create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "t.qcow2", "64M"));
        ImageBytes.appendExtensions(dir.resolve("t.qcow2"), ImageBytes.extension(0x11111111, ascii("AAAA")),
                ImageBytes.extension(0x22222222, ascii("BBBBBBBB")), ImageBytes.extension(BACKING_FORMAT, ascii("raw")),
                ImageBytes.extension(0x33333333, ascii("C")));
        Files.copy(dir.resolve("t.qcow2"), dir.resolve("mine.qcow2"));
        ok(img("amend", "-o", "lazy_refcounts=on", "t.qcow2"));
        Cli.Result r = Cli.runIn(dir, "amend", "-o", "lazy_refcounts=on", "mine.qcow2");
        assertThat(r.exitCode()).as(r.err()).isZero();
        byte[] mine = Files.readAllBytes(dir.resolve("mine.qcow2"));
        byte[] qemu = Files.readAllBytes(dir.resolve("t.qcow2"));
        assertThat(Arrays.mismatch(mine, qemu)).as("first byte where q2's file differs from qemu-img's").isEqualTo(-1);
        assertThat(extensionData(dir.resolve("t.qcow2"), 0x33333333)).isNotNull();
    }

    /** inspect has no qemu-img counterpart: it must name the data file QEMU opens. */
    private void inspectNamesTheLastDataFile(String file) {
        Cli.Result mine = Cli.runIn(dir, "inspect", file);
        assertThat(mine.out() + mine.err()).contains("d2.raw").doesNotContain("d1.raw");
    }

    private void sameAsQemu(String... args) {
        Qemu.Result q = Qemu.img(dir, args);
        Cli.Result mine = Cli.runIn(dir, args);
        String out = mine.out();
        if (out.contains("L2 cache:\n")) {
            out = out.substring(0, out.indexOf("L2 cache:\n")); // q2's one addition to info (InfoFixtureTest)
        }
        if (out.contains(",\n    \"l2-cache\"")) {
            out = out.substring(0, out.indexOf(",\n    \"l2-cache\"")) + "\n}\n";
        }
        String what = String.join(" ", args);
        assertThat(mine.exitCode()).as(what).isEqualTo(q.exitCode());
        assertThat(out).as(what).isEqualTo(q.out());
        assertThat(mine.err()).as(what).isEqualTo(q.err().replace("qemu-img: ", "q2: "));
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** A feature name table with one entry: incompatible feature {@code bit} named {@code name}. */
    private static byte[] featureName(int bit, String name) {
        ByteBuffer b = ByteBuffer.allocate(48);
        b.put((byte) 0).put((byte) bit).put(ascii(name));
        return b.array();
    }

    /** The data of the first extension of {@code type}, or null. */
    private static byte[] extensionData(Path image, int type) throws IOException {
        ByteBuffer h = ByteBuffer.wrap(Files.readAllBytes(image));
        int pos = h.getInt(100);
        while (h.getInt(pos) != 0) {
            int len = h.getInt(pos + 4);
            if (h.getInt(pos) == type) {
                byte[] d = new byte[len];
                h.get(pos + 8, d);
                return d;
            }
            pos += 8 + ((len + 7) & ~7);
        }
        return null;
    }

}
