package dev.q2.inspect;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Verdicts on real files: images of every format and configuration qemu-img 7.2 creates (made by qemu-img and
 * qemu-io, some then byte-patched), with the virtual size qemu-img info reports, and for qcow2 the verdict of
 * qemu-img check where check has one.
 */
@Tag("qemu")
class InspectQemuImagesTest extends QemuTest {
    private static final List<String> LUKS = List.of("--object", "secret,id=s0,data=x");

    @Override
    protected Qemu.Result img(String... args) {
        List<String> a = new ArrayList<>(Arrays.asList(args));
        if (a.contains("LUKS")) {
            int i = a.indexOf("LUKS");
            a.remove(i);
            a.addAll(1, LUKS);
        }
        return super.img(a.toArray(String[]::new));
    }

    private static long qemuVirtualSize(Qemu.Result info) {
        Matcher m = Pattern.compile("\"virtual-size\": (\\d+)").matcher(info.out());
        assertThat(m.find()).as(info.out() + info.err()).isTrue();
        return Long.parseLong(m.group(1));
    }

    /** inspect's verdict, with its virtual size checked against qemu-img info's (given the same -f). */
    private InspectionReport inspect(String file, String format) throws Exception {
        InspectionReport r = Inspector.inspect(dir.resolve(file), file, format);
        List<String> info = new ArrayList<>(List.of("info", "--output=json"));
        if (format != null) {
            info.addAll(List.of("-f", format));
        }
        info.add(file);
        Qemu.Result q = Qemu.img(dir, info.toArray(String[]::new));
        if (q.exitCode() == 0 && r.virtualSize() != null) {
            assertThat(r.virtualSize()).isEqualTo(qemuVirtualSize(q));
        }
        return r;
    }

    private static List<String> rules(InspectionReport r) {
        return r.findings().stream().map(Finding::rule).distinct().toList();
    }

    /** qcow2 options (or '-'), qemu-io commands (';'-separated, or '-'), then what else is done: all safe. */
    @ParameterizedTest(name = "qcow2 {0} {1} {2}")
    @CsvSource(delimiter = '|', value = {
        "- | - | -",
        "compat=0.10 | write -P 1 0 1M | -",
        "cluster_size=512 | write -P 1 0 1M;write -P 2 3M 64k | -",
        "cluster_size=2M | write -P 1 0 3M | -",
        "extended_l2=on | write -P 1 0 4k;write -z 64k 4k;discard 128k 4k | -",
        "extended_l2=on,cluster_size=2M | write -P 1 4k 8k | -",
        "compression_type=zstd | write -c -P 1 0 64k;write -P 2 1M 64k | -",
        "- | write -c -P 1 0 64k;write -c -P 3 5M 64k | -",
        "refcount_bits=1 | write -P 1 0 1M | -",
        "refcount_bits=64 | write -P 1 0 1M | -",
        "lazy_refcounts=on | write -P 1 0 1M | -",
        "preallocation=metadata | - | -",
        "preallocation=falloc | - | -",
        "preallocation=full | - | -",
        "- | write -P 1 0 1M | snapshots",
        "- | write -P 1 0 1M | bitmaps",
        "extended_l2=on,cluster_size=128k,compression_type=zstd | write -c -P 1 0 128k;write -P 2 1M 4k | snapshots",
    })
    void safeQcow2Configurations(String options, String io, String extra) throws Exception {
        List<String> create = new ArrayList<>(List.of("create", "-q", "-f", "qcow2"));
        if (!options.equals("-")) {
            create.addAll(List.of("-o", options));
        }
        create.addAll(List.of("img.qcow2", "8M"));
        img(create.toArray(String[]::new));
        if (!io.equals("-")) {
            io("img.qcow2", io.split(";"));
        }
        if (extra.equals("snapshots")) {
            img("snapshot", "-c", "s1", "img.qcow2");
            io("img.qcow2", "write -P 9 0 64k");
            img("snapshot", "-c", "s2", "img.qcow2");
        } else if (extra.equals("bitmaps")) {
            img("bitmap", "--add", "img.qcow2", "b0");
            img("bitmap", "--add", "-g", "64k", "img.qcow2", "b1");
            img("bitmap", "--disable", "img.qcow2", "b1");
            io("img.qcow2", "write -P 5 2M 64k");
        }
        assertThat(Qemu.img(dir, "check", "img.qcow2").exitCode()).isZero();
        InspectionReport r = inspect("img.qcow2", null);
        assertThat(r.findings()).isEmpty();
        assertThat(inspect("img.qcow2", "qcow2").safe()).isTrue();
        assertThat(Cli.runIn(dir, "inspect", "-f", "qcow2", "img.qcow2").exitCode()).isZero();
    }

    /** format, file, create options (space separated, '-' for none), size, -f given to inspect, expected rules. */
    @ParameterizedTest(name = "{0} {2} -f {4}")
    @CsvSource(delimiter = '|', value = {
        "raw | img.raw | - | 10M | raw | -",
        "raw | img.raw | - | 10M | - | -",
        "vmdk | img.vmdk | -o subformat=monolithicSparse | 100M | - | -",
        "vmdk | img.vmdk | -o subformat=streamOptimized | 100M | vmdk | -",
        "vmdk | img.vmdk | -o subformat=twoGbMaxExtentSparse | 3G | - | vmdk-extent",
        "vmdk | img.vmdk | -o subformat=twoGbMaxExtentFlat | 3G | - | vmdk-extent",
        "vmdk | img.vmdk | -o subformat=monolithicFlat | 100M | vmdk | vmdk-extent",
        "vdi | img.vdi | - | 100M | - | -",
        "vdi | img.vdi | -o static=on | 10M | vdi | -",
        "vhdx | img.vhdx | - | 100M | - | -",
        "vpc | img.vhd | - | 100M | vpc | -",
        "vpc | img.vhd | -o subformat=fixed | 10M | vpc | -",
        "vpc | img.vhd | -o subformat=fixed | 10M | - | foreign-signature",
        "qed | img.qed | - | 100M | - | -",
        "qcow | img.qcow | - | 100M | qcow | -",
        "parallels | img.hdd | - | 100M | - | -",
        "luks | img.luks | LUKS -o key-secret=s0,iter-time=10 | 10M | - | encryption",
        "qcow2 | img.qcow2 | LUKS -o encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10 | 10M | - | encryption",
        "qcow2 | img.qcow2 | LUKS -o encrypt.format=aes,encrypt.key-secret=s0,compat=0.10 | 10M | - | encryption",
        "qcow2 | img.qcow2 | -o data_file=img.data | 10M | - | data-file",
        "qcow2 | img.qcow2 | -o data_file=img.data,data_file_raw=on | 10M | - | data-file",
        "qcow2 | img.qcow2 | - | 10M | raw | format-mismatch",
        "vmdk | img.vmdk | - | 10M | raw | format-mismatch",
        "qed | img.qed | - | 10M | qcow2 | format-mismatch invalid-metadata",
    })
    void everyFormatQemuImgCreates(String format, String file, String options, String size, String declared,
                                   String expected) throws Exception {
        List<String> create = new ArrayList<>(List.of("create", "-q", "-f", format));
        if (!options.equals("-")) {
            create.addAll(Arrays.asList(options.split(" ")));
        }
        create.addAll(List.of(file, size));
        img(create.toArray(String[]::new));
        InspectionReport r = inspect(file, declared.equals("-") ? null : declared);
        assertThat(rules(r)).as(r.findings().toString())
                .containsExactlyElementsOf(expected.equals("-") ? List.of() : List.of(expected.split(" ")));
        if (!declared.equals("-")) {
            assertThat(r.format()).isEqualTo(declared);
        } else {
            assertThat(r.format()).isEqualTo(format.equals("vpc") && options.contains("fixed") ? "raw" : format);
        }
        Cli.Result cli = Cli.runIn(dir, declared.equals("-") ? new String[] {"inspect", file}
                : new String[] {"inspect", "-f", declared, file});
        assertThat(cli.exitCode()).isEqualTo(expected.equals("-") ? 0 : 2);
    }

    @Test
    void backingFilesOfEveryFormatThatHasThem() throws Exception {
        img("create", "-q", "-f", "qcow2", "base.qcow2", "16M");
        img("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "top.qcow2");
        img("create", "-q", "-f", "qed", "-b", "base.qcow2", "-F", "qcow2", "top.qed");
        img("create", "-q", "-f", "qcow", "-b", "base.qcow2", "-F", "qcow2", "top.qcow");
        img("create", "-q", "-f", "vmdk", "base.vmdk", "16M");
        img("create", "-q", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", "top.vmdk");
        img("create", "-q", "-f", "qcow2", "-u", "-b", "json:{\"file.driver\":\"file\",\"file.filename\":\"/etc/passwd\"}",
                "-F", "raw", "json.qcow2", "16M");
        img("create", "-q", "-f", "qcow2", "-u", "-b", "nbd://attacker.example:10809/x", "-F", "raw", "nbd.qcow2", "16M");
        img("create", "-q", "-f", "qcow2", "-u", "-b", "/etc/passwd", "-F", "raw", "passwd.qcow2", "16M");
        for (String top : new String[] {"top.qcow2", "top.qed", "top.qcow", "top.vmdk", "json.qcow2", "nbd.qcow2",
            "passwd.qcow2"}) {
            InspectionReport r = inspect(top, null);
            assertThat(rules(r)).as(top).containsExactly("backing-file");
        }
        assertThat(inspect("json.qcow2", null).findings().get(0).message()).contains("(json: options)");
        assertThat(inspect("nbd.qcow2", null).findings().get(0).message()).contains("(protocol nbd)");
    }

    @Test
    void bytePatchedUnsafeImages() throws Exception {
        // data file named /etc/group
        img("create", "-q", "-f", "qcow2", "-o", "data_file=abcdefghij", "data.qcow2", "16M");
        Images.replaceName(dir.resolve("data.qcow2"), "abcdefghij", "/etc/group");
        assertThat(inspect("data.qcow2", null).findings().get(0).message()).contains("'/etc/group'");
        // a VMDK whose extent names /etc/passwd
        img("create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", "flat.vmdk", "16M");
        Path desc = dir.resolve("flat.vmdk");
        Files.writeString(desc, Files.readString(desc, StandardCharsets.ISO_8859_1).replace("\"flat-flat.vmdk\"",
                "\"/etc/passwd\""), StandardCharsets.ISO_8859_1);
        InspectionReport v = inspect("flat.vmdk", null);
        assertThat(rules(v)).containsExactly("vmdk-extent");
        assertThat(v.findings().get(0).message()).contains("'/etc/passwd'");
        // the corrupt bit
        img("create", "-q", "-f", "qcow2", "corrupt.qcow2", "16M");
        Images.setBits(dir.resolve("corrupt.qcow2"), Images.INCOMPATIBLE_FEATURES, 2);
        assertThat(rules(inspect("corrupt.qcow2", null))).containsExactly("corrupt-bit");
        // an L2 table past the end of the file: qemu-img check fails on it too
        img("create", "-q", "-f", "qcow2", "l2.qcow2", "16M");
        io("l2.qcow2", "write -P 1 0 64k");
        Path l2 = dir.resolve("l2.qcow2");
        Images.writeLong(l2, Images.readLong(l2, Images.L1_TABLE_OFFSET), (1L << 63) | (1L << 30));
        assertThat(Qemu.img(dir, "check", "l2.qcow2").exitCode()).isNotZero();
        assertThat(rules(inspect("l2.qcow2", null))).contains("metadata-outside-file", "check-corruption");
        // a refcount that qemu-img check reports as corrupt
        img("create", "-q", "-f", "qcow2", "ref.qcow2", "16M");
        io("ref.qcow2", "write -P 1 0 64k");
        Path ref = dir.resolve("ref.qcow2");
        long block = Images.readLong(ref, Images.readLong(ref, Images.REFCOUNT_TABLE_OFFSET));
        Images.writeLong(ref, block, 0); // the header's and the next three clusters' refcounts
        assertThat(Qemu.img(dir, "check", "ref.qcow2").exitCode()).isEqualTo(2);
        assertThat(rules(inspect("ref.qcow2", null))).containsExactly("check-corruption");
    }
}
