package dev.q2.inspect;

import dev.q2.block.BlockGraph;
import dev.q2.block.BlockStatus;
import dev.q2.block.ImageName;
import dev.q2.block.References;
import dev.q2.check.CheckOptions;
import dev.q2.check.CheckReport;
import dev.q2.check.ImageChecker;
import dev.q2.image.ImageException;
import dev.q2.testutil.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code check --no-references} and {@code map --no-references} (issue 11, part 3) on images whose backing file and
 * data file name what an attacker would: a host file, {@code json:} options, an NBD URL. Without the option q2
 * follows them as qemu-img does (and fails or reads them); with it, the image alone is checked and mapped. That
 * nothing but FILE is touched is proven by {@link NoReferenceOpenedTest} (FIFOs) and {@link NoReferencesStraceTest}.
 */
@Timeout(120)
class NoReferencesTest {
    /** Names of one length, so that each can replace the placeholder the image was created with. */
    private static final String PLACEHOLDER = "placeholder-name-of-exactly-64-characters-" + "x".repeat(22);
    private static final String[] HOSTILE = {
        pad("/etc/passwd"),
        pad("json:{\"driver\":\"raw\",\"file.filename\":\"/etc/group\"}"),
        pad("nbd://127.0.0.1:1/export"),
    };

    @TempDir
    Path dir;

    /** A name padded to the placeholder's length with '/' (a path) or spaces inside the JSON or URL. */
    private static String pad(String name) {
        int missing = PLACEHOLDER.length() - name.length();
        if (name.startsWith("/")) {
            return "/".repeat(missing) + name;
        }
        if (name.startsWith("json:")) {
            return "json:" + " ".repeat(missing) + name.substring(5);
        }
        return name + "?x=" + "x".repeat(missing - 3);
    }

    /** An image with 64 KiB of data in its data file, whose backing file and data file are then named {@code name}. */
    private Path hostile(String file, String name) throws Exception {
        Images.qcow2(dir, file, List.of("-o", "data_file=" + PLACEHOLDER), "write -P 1 0 64k");
        Path img = dir.resolve(file);
        assertThat(Cli.runIn(dir, "rebase", "-u", "-b", PLACEHOLDER, "-F", "raw", file).exitCode()).isZero();
        Images.replaceName(img, PLACEHOLDER, name); // the data file name (first in the header extensions)
        Images.replaceName(img, PLACEHOLDER, name); // the backing file name
        Files.delete(dir.resolve(PLACEHOLDER));
        return img;
    }

    @Test
    void checkAndMapIgnoreHostileNames() throws Exception {
        int i = 0;
        for (String name : HOSTILE) {
            String file = "img" + i++ + ".qcow2";
            hostile(file, name);
            assertThat(Cli.runIn(dir, "info", file).out()).contains("backing file: " + name)
                    .contains("data file: " + name);
            Cli.Result c = Cli.runIn(dir, "check", "--no-references", file);
            assertThat(c.exitCode()).as(name + ": " + c.err()).isZero();
            assertThat(c.out()).isEqualTo("No errors were found on the image.\n"
                    + "1/256 = 0.39% allocated, 0.00% fragmented, 0.00% compressed clusters\n"
                    + "Image end offset: 327680\n");
            Cli.Result m = Cli.runIn(dir, "map", "--no-references", file);
            assertThat(m.exitCode()).as(name + ": " + m.err()).isZero();
            assertThat(m.out()).isEqualTo("Offset          Length          Mapped to       File\n"
                    + "0               0x10000         0               " + name + "\n");
            // qemu-img's behaviour, followed by default: the backing file is opened (the host's /etc/passwd is,
            // which is the attack; a json: name that names a local file as a plain name could, too), and the nbd
            // name is not (q2 opens no protocol an image names)
            Cli.Result follow = Cli.runIn(dir, "check", file);
            if (name.startsWith("/") || name.startsWith("json:")) {
                assertThat(follow.exitCode()).as(name + ": " + follow.err()).isZero();
            } else {
                assertThat(follow.exitCode()).as(name).isEqualTo(1);
                assertThat(follow.err()).contains("Could not open backing file");
            }
        }
    }

    @Test
    void repairWithoutReferences() throws Exception {
        Path img = Images.qcow2(dir, "img.qcow2", List.of("-o", "cluster_size=4096"), "write -P 1 0 8k");
        assertThat(Cli.runIn(dir, "rebase", "-u", "-b", HOSTILE[2], "-F", "raw", "img.qcow2").exitCode()).isZero();
        long l1 = Images.readLong(img, Images.L1_TABLE_OFFSET);
        long l2 = Images.readLong(img, l1) & 0x00fffffffffffe00L;
        Images.writeLong(img, l2 + 8, 0); // the second data cluster leaks
        Cli.Result before = Cli.runIn(dir, "check", "--no-references", "img.qcow2");
        assertThat(before.exitCode()).as(before.err()).isEqualTo(3);
        Cli.Result repair = Cli.runIn(dir, "check", "--no-references", "-r", "leaks", "img.qcow2");
        assertThat(repair.exitCode()).as(repair.err()).isZero();
        assertThat(repair.out()).contains("The following inconsistencies were found and repaired:");
        Cli.Result after = Cli.runIn(dir, "check", "--no-references", "img.qcow2");
        assertThat(after.exitCode()).as(after.err()).isZero();
        assertThat(after.out()).startsWith("No errors were found on the image.");
    }

    @Test
    void mapOfAChildWithABackingFileShowsTheTopLayerOnly() throws Exception {
        Images.qcow2(dir, "base.qcow2", List.of(), "write -P 2 0 1M");
        Images.qcow2(dir, "top.qcow2", List.of("-b", "base.qcow2", "-F", "qcow2"), "write -P 3 64k 64k",
                "write -z 192k 64k");
        Cli.Result m = Cli.runIn(dir, "map", "--no-references", "--output=json", "top.qcow2");
        assertThat(m.exitCode()).as(m.err()).isZero();
        assertThat(m.out()).startsWith("[{ \"start\": 0, \"length\": 65536, \"depth\": 0, \"present\": false,"
                + " \"zero\": true, \"data\": false},\n{ \"start\": 65536, \"length\": 65536, \"depth\": 0,"
                + " \"present\": true, \"zero\": false, \"data\": true, \"offset\": ");
        assertThat(m.out()).doesNotContain("\"depth\": 1");
        assertThat(Cli.runIn(dir, "map", "--output=json", "top.qcow2").out()).contains("\"depth\": 1");
    }

    @Test
    void theLibraryOpensTheImageAlone() throws Exception {
        Path img = hostile("img.qcow2", HOSTILE[2]);
        try (BlockGraph g = BlockGraph.open(dir, "img.qcow2", "qcow2", false, References.NONE)) {
            BlockStatus.Run r = g.statusByLayer(0, 1 << 20);
            assertThat(r.filename()).isEqualTo(HOSTILE[2]);
            assertThat(r.offset()).isZero();
            assertThat(r.length()).isEqualTo(65536);
            assertThat(g.layer(1)).isNull();
        }
        assertThatThrownBy(() -> BlockGraph.open(dir, "img.qcow2", "qcow2", false, References.NO_BACKING))
                .isInstanceOf(ImageException.class); // the data file is still opened, and cannot be
        CheckReport report = ImageChecker.check(img, CheckOptions.defaults().withReferences(References.NONE));
        assertThat(report.result().corruptions()).isZero();
        assertThat(report.result().leaks()).isZero();
    }

    @Test
    void jsonFilenamesWithBackingNull() throws Exception {
        Images.qcow2(dir, "top.qcow2", List.of("-u", "-b", "/etc/passwd", "-F", "raw"), "write -P 3 0 64k");
        String json = "json:{\"driver\": \"qcow2\", \"file\": {\"driver\": \"file\", \"filename\": \"top.qcow2\"},"
                + " \"backing\": null}";
        Cli.Result m = Cli.runIn(dir, "map", json);
        assertThat(m.exitCode()).as(m.err()).isZero();
        assertThat(m.out()).contains("0               0x10000         0x50000         top.qcow2\n");
        Cli.Result c = Cli.runIn(dir, "check", "--output=json", json);
        assertThat(c.exitCode()).as(c.err()).isZero();
        assertThat(c.out()).contains("\"filename\": \"json:{\\\"driver\\\": \\\"qcow2\\\"");
        String flat = "json:{\"file.filename\":\"top.qcow2\",\"backing\":null}";
        assertThat(Cli.runIn(dir, "check", flat).exitCode()).isZero();
        // backing not null: the image's own backing file is followed, as qemu-img does
        assertThat(Cli.runIn(dir, "check", "json:{\"file.filename\":\"top.qcow2\"}").exitCode()).isZero();
    }

    @Test
    void jsonFilenamesQ2DoesNotReadAreRefusedByName() {
        String[][] cases = {
            {"json:{bad", "Could not parse the JSON options: JSON parse error"},
            {"json:[1]", "Invalid JSON object given"},
            {"json:{\"file.filename\":\"a\",\"backing\":\"node\"}", "Cannot find device='node' nor node-name='node'"},
            {"json:{\"file.filename\":\"a\",\"data-file\":\"n\"}", "Cannot find device='n' nor node-name='n'"},
            {"json:{\"driver\":\"vmdk\",\"file.filename\":\"a\"}", "q2 does not support the block driver 'vmdk'"},
            {"json:{\"file\":{\"driver\":\"nbd\",\"host\":\"x\"}}", "q2 does not support the block driver 'nbd'"},
            {"json:{\"file.driver\":\"nbd\",\"file.filename\":\"a\"}", "q2 does not support the block driver 'nbd'"},
            {"json:{\"driver\":\"qcow2\"}", "A block device must be specified for \"file\""},
            {"json:{\"file.filename\":\"a\",\"node-name\":null}", "Invalid parameter type for 'node-name', expected: string"},
        };
        for (String[] c : cases) {
            for (String command : new String[] {"check", "map"}) {
                Cli.Result r = Cli.runIn(dir, command, c[0]);
                assertThat(r.exitCode()).as(c[0]).isEqualTo(1);
                assertThat(r.err()).as(c[0]).startsWith("q2: Could not open '" + c[0] + "': ").contains(c[1]);
            }
        }
    }

    @Test
    void imageNames() throws Exception {
        assertThatThrownBy(() -> ImageName.parse("json:x.qcow2")) // QEMU too reads any json: name as JSON
                .hasMessageStartingWith("Could not parse the JSON options");
        ImageName plain = ImageName.parse("disk.qcow2");
        assertThat(plain).isEqualTo(new ImageName("disk.qcow2", null, References.ALL));
        assertThat(plain.limitedTo(References.NONE).references()).isEqualTo(References.NONE);
        ImageName json = ImageName.parse("json:{\"driver\":\"raw\",\"file\":{\"filename\":\"d\"},\"backing\":null}");
        assertThat(json).isEqualTo(new ImageName("d", "raw", References.NO_BACKING));
        assertThat(json.limitedTo(References.ALL)).isSameAs(json);
    }
}
