package dev.q2.cli;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import dev.q2.util.QJson;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code q2 check FILE...} and {@code q2 info FILE...}: each image's output is what qemu-img prints for it alone, in
 * the order given (human blocks headed by the name, JSON as one array), and the exit code is the most severe.
 */
class ManyImagesTest {
    @TempDir
    Path dir;

    @Test
    void theMostSevereExitCodeWins() {
        assertThat(ManyImages.severity(0, 63)).isEqualTo(63);
        assertThat(ManyImages.severity(63, 3)).isEqualTo(3);
        assertThat(ManyImages.severity(2, 3)).isEqualTo(2);
        assertThat(ManyImages.severity(2, 1)).isEqualTo(1);
        assertThat(ManyImages.severity(1, 0)).isEqualTo(1);
        assertThat(ManyImages.severity(4, 2)).isEqualTo(4); // anything unknown counts as an error
    }

    @Test
    void jsonArrayIsLaidOutAsQemuLaysOutAList() {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("filename", "a.qcow2");
        a.put("nested", new LinkedHashMap<>(Map.of("x", 1L)));
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("filename", "b.qcow2");
        String expected = QJson.pretty(List.of(a, b)) + "\n";
        assertThat(ManyImages.jsonArray(List.of(QJson.pretty(a) + "\n", QJson.pretty(b) + "\n"))).isEqualTo(expected);
        assertThat(ManyImages.jsonArray(List.of())).isEqualTo(QJson.pretty(List.of()) + "\n");
    }

    @Test
    @Tag("qemu")
    void checkOfSeveralImagesPrintsWhatQemuImgPrintsForEach() throws Exception {
        Qemu.assumeAvailable();
        String[] names = {"clean.qcow2", "leaky.qcow2", "corrupt.qcow2", "missing.qcow2", "raw.img", "clean2.qcow2"};
        for (String n : new String[] {"clean.qcow2", "leaky.qcow2", "corrupt.qcow2", "clean2.qcow2"}) {
            assertThat(Qemu.img(dir, "create", "-q", "-f", "qcow2", n, "64M").exitCode()).isZero();
            assertThat(Qemu.io(dir, "-c", "write -P 3 0 128k", n).exitCode()).isZero();
        }
        assertThat(Qemu.img(dir, "create", "-q", "-f", "raw", "raw.img", "1M").exitCode()).isZero();
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("leaky.qcow2").toFile(), "rw")) {
            f.setLength(f.length() + 65536); // one more cluster in the file, which nothing uses ...
            patchRefcount(dir.resolve("leaky.qcow2"), (int) (f.length() / 65536) - 1, 1); // ... counted: a leak
        }
        patchRefcount(dir.resolve("corrupt.qcow2"), 3, 0); // the L1 table's cluster: a corruption

        for (String output : new String[] {"human", "json"}) {
            List<String> args = new ArrayList<>(List.of("check", "--output=" + output));
            args.addAll(List.of(names));
            Cli.Result all = Cli.runIn(dir, args.toArray(String[]::new));
            StringBuilder out = new StringBuilder();
            StringBuilder err = new StringBuilder();
            List<String> objects = new ArrayList<>();
            for (int i = 0; i < names.length; i++) {
                Qemu.Result q = Qemu.img(dir, "check", "--output=" + output, names[i]);
                err.append(q.err().replace("qemu-img: ", "q2: "));
                if (output.equals("json")) {
                    if (!q.out().isEmpty()) {
                        objects.add(q.out());
                    }
                } else {
                    out.append(i > 0 ? "\n" : "").append("image: ").append(names[i]).append('\n').append(q.out());
                }
            }
            String expectedOut = output.equals("json") ? ManyImages.jsonArray(objects) : out.toString();
            assertThat(all.out()).as(output).isEqualTo(expectedOut);
            assertThat(all.err()).as(output).isEqualTo(err.toString());
            assertThat(all.exitCode()).as("an open error (1) is the most severe").isEqualTo(1);
        }
        Cli.Result noOpenError = Cli.runIn(dir, "check", "-q", "clean.qcow2", "leaky.qcow2", "raw.img");
        assertThat(noOpenError.exitCode()).isEqualTo(3);
        assertThat(noOpenError.out()).isEmpty();
        assertThat(Cli.runIn(dir, "check", "-q", "leaky.qcow2", "corrupt.qcow2").exitCode()).isEqualTo(2);
        assertThat(Cli.runIn(dir, "check", "-q", "clean.qcow2", "clean2.qcow2").exitCode()).isZero();
        // the same image twice is checked twice (one after the other: no lock conflict with itself)
        Cli.Result twice = Cli.runIn(dir, "check", "-r", "all", "leaky.qcow2", "leaky.qcow2");
        assertThat(twice.exitCode()).as(twice.err()).isZero();
        assertThat(twice.out()).contains("The following inconsistencies were found and repaired:");
    }

    @Test
    void infoOfSeveralImagesIsEachImagesInfoInOrder() throws Exception {
        assertThat(Cli.runIn(dir, "create", "-q", "base.qcow2", "64M").exitCode()).isZero();
        assertThat(Cli.runIn(dir, "create", "-q", "-b", "base.qcow2", "-F", "qcow2", "top.qcow2").exitCode())
                .isZero();
        Cli.Result chain = Cli.runIn(dir, "info", "--output=json", "--backing-chain", "top.qcow2");
        Cli.Result both = Cli.runIn(dir, "info", "--output=json", "top.qcow2", "base.qcow2");
        assertThat(both.exitCode()).isZero();
        assertThat(both.out()).isEqualTo(chain.out());
        Cli.Result human = Cli.runIn(dir, "info", "top.qcow2", "base.qcow2");
        assertThat(human.out()).isEqualTo(Cli.runIn(dir, "info", "--backing-chain", "top.qcow2").out());
        Cli.Result missing = Cli.runIn(dir, "info", "top.qcow2", "nope.qcow2", "base.qcow2");
        assertThat(missing.exitCode()).isEqualTo(1);
        assertThat(missing.err()).isEqualTo(Cli.runIn(dir, "info", "nope.qcow2").err());
        assertThat(missing.out()).startsWith(Cli.runIn(dir, "info", "top.qcow2").out())
                .endsWith(Cli.runIn(dir, "info", "base.qcow2").out());
    }

    /** Sets the 16-bit refcount of cluster {@code index} in the first refcount block (64 KiB clusters). */
    private static void patchRefcount(Path image, int index, int value) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.seek(48);
            long table = f.readLong();
            f.seek(table);
            long block = f.readLong();
            f.seek(block + 2L * index);
            f.writeShort(value);
        }
    }
}
