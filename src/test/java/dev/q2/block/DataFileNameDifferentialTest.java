package dev.q2.block;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Where QEMU 7.2 finds an external data file named relatively: in the working folder of the process, not in the
 * image's folder (qcow2_do_open opens it with bdrv_open_child, which combines the name with nothing). An image in
 * {@code img/} names {@code d.raw}; {@code img/d.raw} and {@code cwd/d.raw} hold different bytes; qemu-img and q2
 * run in {@code cwd/} on {@code ../img/i.qcow2} must read the same one, and fail alike when {@code cwd/} has none.
 */
@Tag("qemu")
class DataFileNameDifferentialTest {
    @TempDir
    Path dir;
    private Path img;
    private Path cwd;

    @BeforeEach
    void setUp() throws Exception {
        Qemu.assumeAvailable();
        img = Files.createDirectory(dir.resolve("img"));
        cwd = Files.createDirectory(dir.resolve("cwd"));
        ok(Qemu.img(img, "create", "-q", "-f", "qcow2", "-o", "data_file=d.raw", "i.qcow2", "1M"));
        ok(Qemu.io(img, "-c", "write -P 0x11 0 64k", "-c", "write -P 0x12 512k 64k", "i.qcow2"));
        // the working folder's d.raw: another pattern in the same places
        ok(Qemu.img(cwd, "create", "-q", "-f", "raw", "d.raw", "1M"));
        ok(Qemu.io(cwd, "-f", "raw", "-c", "write -P 0x22 0 64k", "-c", "write -P 0x23 512k 64k", "d.raw"));
    }

    private static void ok(Qemu.Result r) {
        assertThat(r.exitCode()).as(r.err()).isZero();
    }

    private void same(String... args) {
        Qemu.Result q = Qemu.img(cwd, args);
        Cli.Result r = Cli.runIn(cwd, args);
        String what = String.join(" ", args);
        // q2 measure adds an L2 cache report after qemu-img's lines
        String out = args[0].equals("measure") && r.exitCode() == 0 ? r.out().substring(0, q.out().length()) : r.out();
        assertThat(out).as("stdout of %s", what).isEqualTo(q.out());
        assertThat(r.err().replace("q2: ", "")).as("stderr of %s", what).isEqualTo(q.err().replace("qemu-img: ", ""));
        assertThat(r.exitCode()).as("exit code of %s", what).isEqualTo(q.exitCode());
    }

    @Test
    void relativeDataFileIsFoundInTheWorkingFolder() throws Exception {
        for (String image : List.of("../img/i.qcow2", img.resolve("i.qcow2").toString())) {
            same("map", "--output=json", image);
            same("map", image);
            same("compare", image, "d.raw");
            same("compare", "-f", "qcow2", "-F", "raw", image, "../img/d.raw");
            same("measure", "-O", "qcow2", image);
        }
        ok(Qemu.img(cwd, "convert", "-O", "raw", "../img/i.qcow2", "q.raw"));
        assertThat(Cli.runIn(cwd, "convert", "-O", "raw", "../img/i.qcow2", "o.raw").exitCode()).isZero();
        assertThat(Files.readAllBytes(cwd.resolve("o.raw"))).isEqualTo(Files.readAllBytes(cwd.resolve("q.raw")));
        assertThat(Files.readAllBytes(cwd.resolve("o.raw"))).isEqualTo(Files.readAllBytes(cwd.resolve("d.raw")));
    }

    @Test
    void noDataFileInTheWorkingFolder() throws Exception {
        Files.delete(cwd.resolve("d.raw"));
        for (String image : List.of("../img/i.qcow2", img.resolve("i.qcow2").toString())) {
            same("map", image);
            same("compare", image, image);
            same("measure", "-O", "qcow2", image);
            same("convert", "-O", "raw", image, "o.raw");
        }
        assertThat(cwd.resolve("o.raw")).doesNotExist();
    }

    @Test
    void createPutsTheDataFileInTheWorkingFolder() throws Exception {
        ok(Qemu.img(cwd, "create", "-q", "-f", "qcow2", "-o", "data_file=q.data", "../img/q.qcow2", "1M"));
        assertThat(Cli.runIn(cwd, "create", "-q", "-f", "qcow2", "-o", "data_file=o.data", "../img/o.qcow2", "1M")
                .exitCode()).isZero();
        assertThat(cwd.resolve("q.data")).exists();
        assertThat(cwd.resolve("o.data")).exists();
        assertThat(img.resolve("o.data")).doesNotExist();
    }
}
