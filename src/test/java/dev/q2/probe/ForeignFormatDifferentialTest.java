package dev.q2.probe;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Formats other than qcow2 and raw, made by qemu-img create with each subformat: q2 info names them and gives the
 * virtual size (and backing file) that qemu-img info gives; every command that cannot process them refuses them by
 * name, never reading them as raw; check exits as qemu-img's check does where the format has no check.
 */
@Tag("qemu")
class ForeignFormatDifferentialTest extends QemuTest {
    private static final String LUKS_SECRET = "--object secret,id=s0,data=x -o key-secret=s0";

    /** format, file, create options (space separated, '-' for none), size. */
    @ParameterizedTest(name = "{0} {2} {3}")
    @CsvSource({
        "vmdk, img.vmdk, -o subformat=monolithicSparse, 100M",
        "vmdk, img.vmdk, -o subformat=streamOptimized, 100M",
        "vmdk, img.vmdk, -o subformat=twoGbMaxExtentSparse, 3G",
        "vmdk, img.vmdk, -o subformat=twoGbMaxExtentFlat, 3G",
        "vmdk, img.vmdk, -o subformat=monolithicFlat, 100M",
        "vmdk, img.vmdk, -o subformat=monolithicSparse, 1000001",
        "vdi, img.vdi, -, 100M",
        "vdi, img.vdi, -o static=on, 10M",
        "vhdx, img.vhdx, -, 100M",
        "vhdx, img.vhdx, -o block_size=1M, 3G",
        "vpc, img.vhd, -, 100M",
        "vpc, img.vhd, -o force_size=on, 100M",
        "vpc, img.vhd, -o subformat=fixed, 10M",
        "qed, img.qed, -, 100M",
        "qed, img.qed, -o cluster_size=4096, 7M",
        "qcow, img.qcow, -, 100M",
        "parallels, img.hdd, -, 100M",
        "luks, img.luks, " + "LUKS" + ", 10M",
    })
    void infoAsQemuImg(String format, String file, String options, String size) throws Exception {
        List<String> create = new ArrayList<>(List.of("create", "-q", "-f", format));
        if (options.equals("LUKS")) {
            create.addAll(Arrays.asList(LUKS_SECRET.split(" ")));
            create.addAll(List.of("-o", "iter-time=10"));
        } else if (!options.equals("-")) {
            create.addAll(Arrays.asList(options.split(" ")));
        }
        create.addAll(List.of(file, size));
        img(create.toArray(String[]::new));
        sameInfo(file);
    }

    @Test
    void backingFilesAsQemuImgReportsThemWithoutOpeningThem() throws Exception {
        img("create", "-q", "-f", "qed", "base.qed", "64M");
        img("create", "-q", "-f", "qed", "-b", "base.qed", "-F", "qed", "top.qed");
        img("create", "-q", "-f", "raw", "base.raw", "32M");
        img("create", "-q", "-f", "qed", "-b", "base.raw", "-F", "raw", "topraw.qed");
        img("create", "-q", "-f", "vmdk", "base.vmdk", "64M");
        img("create", "-q", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", "top.vmdk");
        img("create", "-q", "-f", "qcow", "-b", "base.raw", "-F", "raw", "top.qcow");
        for (String f : List.of("top.qed", "topraw.qed", "top.vmdk", "top.qcow")) {
            sameInfo(f);
        }
        // q2 reads the header alone: the backing file may be gone
        Files.delete(dir.resolve("base.qed"));
        Cli.Result r = Cli.runIn(dir, "info", "--output=json", "top.qed");
        assertThat(r.exitCode()).isZero();
        assertThat(key(r.out(), "backing-filename")).isEqualTo("\"base.qed\"");
    }

    @Test
    void otherCommandsRefuseByName() throws Exception {
        img("create", "-q", "-f", "vdi", "img.vdi", "1M");
        img("create", "-q", "-f", "vmdk", "img.vmdk", "1M");
        img("create", "-q", "-f", "qcow2", "-b", "img.vdi", "-F", "vdi", "top.qcow2");
        String[][] commands = {{"map", "img.vdi"}, {"convert", "-O", "raw", "img.vdi", "out.raw"},
            {"measure", "-O", "qcow2", "img.vdi"}, {"check", "img.vdi"}, {"map", "-f", "vmdk", "img.vdi"},
            {"convert", "-O", "qcow2", "img.vmdk", "out.qcow2"}, {"check", "img.vmdk"}, {"map", "top.qcow2"}};
        for (String[] c : commands) {
            Cli.Result r = Cli.runIn(dir, c);
            String what = String.join(" ", c);
            assertThat(r.exitCode()).as(what).isEqualTo(1);
            assertThat(r.err()).as(what).containsPattern("q2 cannot read (vdi|vmdk) images yet\n$");
            assertThat(r.err().lines().count()).as(what).isEqualTo(1);
        }
        assertThat(dir.resolve("out.raw")).doesNotExist();
        assertThat(dir.resolve("out.qcow2")).doesNotExist();
        Cli.Result cmp = Cli.runIn(dir, "compare", "img.vdi", "img.vdi");
        assertThat(cmp.exitCode()).isEqualTo(2); // compare's code for an image it cannot open
        assertThat(cmp.err()).isEqualTo("q2: Could not open 'img.vdi': q2 cannot read vdi images yet\n");
        Cli.Result io = Cli.runIn(dir, "io", "-c", "read 0 512", "img.vdi");
        assertThat(io.exitCode()).isEqualTo(1);
        assertThat(io.err()).isEqualTo("q2: can't open device img.vdi: q2 cannot read vdi images yet\n");
    }

    /** -f names the driver: its own magic check refuses a file of another format, a fixed VHD opens as vpc. */
    @ParameterizedTest
    @CsvSource({"vdi", "vhdx", "vpc", "qed", "qcow", "luks", "parallels"})
    void explicitFormatOnAnotherFormat(String format) throws Exception {
        img("create", "-q", "-f", "raw", "f.img", "1M");
        Qemu.Result q = Qemu.img(dir, "info", "-f", format, "f.img");
        Cli.Result m = Cli.runIn(dir, "info", "-f", format, "f.img");
        assertThat(m.exitCode()).isEqualTo(q.exitCode()).isEqualTo(1);
        assertThat(m.err()).isEqualTo(q.err().replace("qemu-img: ", "q2: "));
        img("create", "-q", "-f", "vpc", "-o", "subformat=fixed", "fixed.vhd", "10M");
        Qemu.Result qf = Qemu.img(dir, "info", "--output=json", "-f", "vpc", "fixed.vhd");
        Cli.Result mf = Cli.runIn(dir, "info", "--output=json", "-f", "vpc", "fixed.vhd");
        assertThat(key(mf.out(), "virtual-size")).isEqualTo(key(qf.out(), "virtual-size")).isNotNull();
    }

    /** create -b takes the size of a backing file in another format from its header, as qemu-img does. */
    @Test
    void createOnTopOfAForeignBackingFile() throws Exception {
        img("create", "-q", "-f", "vdi", "base.vdi", "100M");
        img("create", "-q", "-f", "qcow2", "-b", "base.vdi", "-F", "vdi", "q.qcow2");
        Cli.Result r = Cli.runIn(dir, "create", "-q", "-f", "qcow2", "-b", "base.vdi", "-F", "vdi", "m.qcow2");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(Files.mismatch(dir.resolve("q.qcow2"), dir.resolve("m.qcow2"))).isEqualTo(-1L);
    }

    /** qemu-img check on a format whose driver has no check: message and exit 63, as q2. */
    @ParameterizedTest
    @CsvSource({"vpc, img.vhd", "qcow, img.qcow"})
    void checkOfAFormatWithoutChecks(String format, String file) throws Exception {
        img("create", "-q", "-f", format, file, "1M");
        Qemu.Result q = Qemu.img(dir, "check", file);
        Cli.Result m = Cli.runIn(dir, "check", file);
        assertThat(m.exitCode()).isEqualTo(q.exitCode()).isEqualTo(63);
        assertThat(m.err()).isEqualTo(q.err().replace("qemu-img: ", "q2: "));
    }

    /** Text descriptors qemu-img refuses before it opens any extent: the same one-line error, exit 1. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "# c\\n   \\r\\nversion=1\\r\\nRW 2048 FLAT \"nothere\" 0\\n",
        "version=1\\ncreateType=\"custom\"\\nRW 2048 FLAT \"nothere\" 0\\n"})
    void badDescriptorsRefusedAsQemuImg(String text) throws Exception {
        Files.writeString(dir.resolve("d.vmdk"), text.replace("\\n", "\n").replace("\\r", "\r"));
        Qemu.Result q = Qemu.img(dir, "info", "d.vmdk");
        Cli.Result m = Cli.runIn(dir, "info", "d.vmdk");
        assertThat(m.exitCode()).isEqualTo(q.exitCode()).isEqualTo(1);
        assertThat(m.err()).isEqualTo(q.err().replace("qemu-img: ", "q2: "));
    }

    private void sameInfo(String file) {
        Qemu.Result q = Qemu.img(dir, "info", "--output=json", file);
        Cli.Result m = Cli.runIn(dir, "info", "--output=json", file);
        assertThat(q.exitCode()).as(q.err()).isZero();
        assertThat(m.exitCode()).as(m.err()).isZero();
        assertThat(key(q.out(), "format")).isNotNull();
        assertThat(key(q.out(), "virtual-size")).isNotNull();
        for (String k : List.of("format", "virtual-size", "backing-filename", "full-backing-filename",
                "backing-filename-format")) {
            assertThat(key(m.out(), k)).as(file + " " + k).isEqualTo(key(q.out(), k));
        }
        Cli.Result h = Cli.runIn(dir, "info", file);
        assertThat(h.out()).contains("file format: " + key(q.out(), "format").replace("\"", "") + "\n");
    }

    /** The value of a top-level key in qemu-img's JSON (the first occurrence), or null. */
    private static String key(String json, String k) {
        Matcher m = Pattern.compile("\n    \"" + Pattern.quote(k) + "\": (\"[^\"]*\"|-?\\d+)").matcher(json);
        return m.find() ? m.group(1) : null;
    }
}
