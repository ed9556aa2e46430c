package dev.q2.inspect;

import dev.q2.testutil.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Crafted images, made with q2's own create and io and byte patches: each rule fires on the image made for it, an
 * image with several problems lists them all, clean images are safe, and the command line's exit codes and JSON keys
 * are as documented.
 */
class InspectorTest {
    @TempDir
    Path dir;

    private InspectionReport inspect(Path p) throws IOException {
        return Inspector.inspect(p, p.getFileName().toString(), null);
    }

    /** The report on {@code p}: its only finding is by {@code rule}, with each of {@code parts} in the message. */
    private InspectionReport onlyFinding(Path p, String rule, String... parts) throws IOException {
        InspectionReport r = inspect(p);
        assertThat(rules(r)).containsExactly(rule);
        assertThat(r.findings().get(0).message()).contains(parts);
        return r;
    }

    private static List<String> rules(InspectionReport r) {
        return r.findings().stream().map(Finding::rule).toList();
    }

    @Test
    void cleanImagesAreSafe() throws Exception {
        for (List<String> opts : List.<List<String>>of(List.of(), List.of("-o", "compat=0.10"),
                List.of("-o", "extended_l2=on,cluster_size=128k"), List.of("-o", "compression_type=zstd"),
                List.of("-o", "cluster_size=512,refcount_bits=1"), List.of("-o", "preallocation=metadata"),
                List.of("-o", "lazy_refcounts=on,refcount_bits=64"))) {
            Path p = Images.qcow2(dir, "clean.qcow2", opts, "write -P 1 0 64k", "write -c -P 2 1M 64k",
                    "write -z 2M 64k");
            InspectionReport r = inspect(p);
            assertThat(r.findings()).as(opts.toString()).isEmpty();
            assertThat(r.safe()).isTrue();
            assertThat(r.format()).isEqualTo("qcow2");
            assertThat(r.virtualSize()).isEqualTo(16L << 20);
            Files.delete(p);
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "/etc/passwd | absolute path",
        "json:{\"file.driver\":\"file\",\"file.filename\":\"/etc/shadow\"} | json: options",
        "nbd://attacker.example:10809/export | protocol nbd",
        "nbd:unix:/run/x.sock | protocol nbd",
        "file:/etc/passwd | protocol file",
        "../../../etc/passwd | relative path",
        "base.qcow2 | relative path"})
    void everyKindOfBackingName(String name, String kind) throws Exception {
        Path p = Images.qcow2(dir, "img.qcow2", List.of("-u", "-b", name, "-F", "raw"));
        assertThat(onlyFinding(p, "backing-file", name, "(" + kind + ")", "'raw'").safe()).isFalse();
    }

    @Test
    void backingNameWithoutFormat() throws Exception {
        Path p = Images.qcow2(dir, "img.qcow2", List.of());
        // a name placed in the header cluster by hand: past the header extensions' end marker
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.seek(4000);
            f.write("/dev/sda".getBytes());
        }
        Images.writeLong(p, Images.BACKING_FILE_OFFSET, 4000);
        Images.writeInt(p, Images.BACKING_FILE_OFFSET + 8, 8);
        InspectionReport r = inspect(p);
        assertThat(r.findings(Rule.BACKING_FILE)).singleElement()
                .satisfies(f -> assertThat(f.message()).contains("'/dev/sda'").contains("QEMU would probe it"));
    }

    @Test
    void externalDataFile() throws Exception {
        Path p = Images.qcow2(dir, "img.qcow2", List.of("-o", "data_file=abcdefghij"));
        Images.replaceName(p, "abcdefghij", "/etc/group");
        onlyFinding(p, "data-file", "'/etc/group' (absolute path)");
    }

    @Test
    void featureBits() throws Exception {
        Path p = Images.qcow2(dir, "img.qcow2", List.of(), "write -P 1 0 64k");
        Images.setBits(p, Images.INCOMPATIBLE_FEATURES, 2 | 1 | (1L << 40));
        InspectionReport r = inspect(p);
        assertThat(rules(r)).contains("unknown-incompatible-features", "corrupt-bit", "dirty-bit",
                "invalid-metadata");
        assertThat(r.findings(Rule.UNKNOWN_INCOMPATIBLE_FEATURES).get(0).message()).contains("bit 40");
    }

    @Test
    void legacyAesEncryption() throws Exception {
        Path p = Images.qcow2(dir, "img.qcow2", List.of());
        Images.writeInt(p, Images.CRYPT_METHOD, 1);
        onlyFinding(p, "encryption", "aes");
    }

    @Test
    void l2TablePastTheEndOfTheFile() throws Exception {
        Path p = Images.qcow2(dir, "img.qcow2", List.of(), "write -P 1 0 64k");
        long l1 = Images.readLong(p, Images.L1_TABLE_OFFSET);
        Images.writeLong(p, l1, (1L << 63) | (1L << 40));
        InspectionReport r = inspect(p);
        assertThat(rules(r)).contains("metadata-outside-file", "check-corruption");
        assertThat(r.findings(Rule.METADATA_OUTSIDE_FILE).get(0).message())
                .contains("L2 table of the active L1 table entry 0").contains("past the end of the file");
    }

    @Test
    void topLevelTablesOutsideTheFileOrOverlapping() throws Exception {
        Path p = Images.qcow2(dir, "img.qcow2", List.of(), "write -P 1 0 64k");
        long reftable = Images.readLong(p, Images.REFCOUNT_TABLE_OFFSET);
        Images.writeLong(p, Images.L1_TABLE_OFFSET, reftable); // the L1 table over the refcount table
        InspectionReport r = inspect(p);
        assertThat(r.findings(Rule.METADATA_OVERLAP)).as(r.findings().toString()).isNotEmpty();
        assertThat(r.findings(Rule.METADATA_OVERLAP).get(0).message()).contains("active L1 table")
                .contains("refcount table");

        Path q = Images.qcow2(dir, "img2.qcow2", List.of(), "write -P 1 0 64k");
        Images.writeLong(q, Images.L1_TABLE_OFFSET, 1L << 50);
        assertThat(rules(inspect(q))).contains("metadata-outside-file");

        Path s = Images.qcow2(dir, "img3.qcow2", List.of(), "write -P 1 0 64k");
        long l1 = Images.readLong(s, Images.L1_TABLE_OFFSET);
        Images.writeLong(s, l1, (1L << 63) | Images.readLong(s, Images.REFCOUNT_TABLE_OFFSET)); // L2 over reftable
        InspectionReport rs = inspect(s);
        assertThat(rs.findings(Rule.METADATA_OVERLAP)).singleElement().satisfies(f -> assertThat(f.message())
                .contains("L2 table of the active L1 table entry 0").contains("overlaps the refcount table"));
        assertThat(rs.findings(Rule.CHECK_CORRUPTION)).isNotEmpty();
    }

    @Test
    void refcountCorruptionFoundByCheck() throws Exception {
        Path p = Images.qcow2(dir, "img.qcow2", List.of(), "write -P 1 0 64k");
        long reftable = Images.readLong(p, Images.REFCOUNT_TABLE_OFFSET);
        long block = Images.readLong(p, reftable);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.seek(block); // the header cluster's refcount to 0
            f.writeShort(0);
        }
        InspectionReport r = inspect(p);
        assertThat(rules(r)).containsOnly("check-corruption");
        assertThat(r.findings().get(0).message()).startsWith("check found 1 corruptions");
        assertThat(r.findings().get(1).message()).startsWith("ERROR cluster 0 refcount=0 reference=1");
    }

    @Test
    void virtualSizePastQemusLimits() throws Exception {
        Path p = Images.qcow2(dir, "img.qcow2", List.of());
        Images.writeLong(p, Images.SIZE, -2);
        assertThat(rules(inspect(p))).contains("virtual-size-limit");
        Path q = Images.qcow2(dir, "img2.qcow2", List.of("-o", "cluster_size=512"));
        Images.writeLong(q, Images.SIZE, 1L << 50); // needs 2^32 L1 entries with 512-byte clusters
        assertThat(rules(inspect(q))).contains("virtual-size-limit", "invalid-metadata");
    }

    @Test
    void everyProblemIsListed() throws Exception {
        Files.write(dir.resolve("aaaaaaaaa"), new byte[1 << 20]);
        Path p = Images.qcow2(dir, "img.qcow2", List.of("-b", "aaaaaaaaa", "-F", "raw", "-o",
                "data_file=abcdefghij"), "write -P 1 0 64k");
        Images.replaceName(p, "aaaaaaaaa", "nbd://h/x");
        Images.setBits(p, Images.INCOMPATIBLE_FEATURES, 2);
        long l1 = Images.readLong(p, Images.L1_TABLE_OFFSET);
        Images.writeLong(p, l1, (1L << 63) | (1L << 40));
        InspectionReport r = inspect(p);
        assertThat(rules(r)).contains("backing-file", "data-file", "corrupt-bit", "metadata-outside-file");
    }

    @Test
    void formatConfusion() throws Exception {
        Path p = Images.qcow2(dir, "img.qcow2", List.of("-u", "-b", "/etc/passwd", "-F", "raw"));
        InspectionReport r = Inspector.inspect(p, "img.qcow2", "raw");
        assertThat(r.format()).isEqualTo("raw");
        assertThat(r.probedFormat()).isEqualTo("qcow2");
        assertThat(rules(r)).containsExactly("format-mismatch", "backing-file");
        assertThat(r.findings().get(1).message()).startsWith("as qcow2: backing file '/etc/passwd'");

        Path raw = dir.resolve("disk.raw");
        Files.write(raw, new byte[1 << 20]);
        InspectionReport rq = Inspector.inspect(raw, "disk.raw", "qcow2");
        assertThat(rules(rq)).containsExactly("format-mismatch", "invalid-metadata");
        assertThat(Inspector.inspect(raw, "disk.raw", "raw").safe()).isTrue();
    }

    @Test
    void vhdFooterAtTheEndOfARawFile() throws Exception {
        Path raw = dir.resolve("disk.raw");
        byte[] b = new byte[1 << 20];
        System.arraycopy("conectix".getBytes(), 0, b, b.length - 512, 8);
        Files.write(raw, b);
        assertThat(rules(inspect(raw))).containsExactly("foreign-signature");
    }

    @Test
    void vmdkDescriptorExtents() throws Exception {
        Path d = Images.vmdkDescriptor(dir, "img.vmdk", "/etc/passwd");
        assertThat(onlyFinding(d, "vmdk-extent", "'/etc/passwd' (absolute path)").format()).isEqualTo("vmdk");
    }

    @Test
    void messagesStayOnOneLineWhateverTheImageHolds() throws Exception {
        // QEMU's refusal quotes the createType: a newline in it must not forge a verdict line
        Files.writeString(dir.resolve("img.vmdk"), "version=1\ncreateType=\"x\nsafe: img.vmdk (raw)\"\n"
                + "RW 2048 FLAT \"a\" 0\n");
        Cli.Result r = Cli.runIn(dir, "inspect", "img.vmdk");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.out().lines().toList()).hasSize(2);
        assertThat(r.out()).contains("invalid-metadata: QEMU refuses to open the image: Unsupported image type"
                + " 'x\\x0asafe: img.vmdk (raw)'\nunsafe: img.vmdk");
    }

    @Test
    void namedButUnreadableFormats() throws Exception {
        Path p = dir.resolve("img");
        byte[] b = new byte[4096];
        byte[] pre = "#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n"
                .getBytes();
        System.arraycopy(pre, 0, b, 0, pre.length);
        Files.write(p, b);
        InspectionReport r = inspect(p);
        assertThat(r.format()).isEqualTo("cloop");
        assertThat(rules(r)).containsExactly("uninspectable-format");
        assertThat(r.virtualSize()).isNull();
    }

    @Test
    void hugeClaimsAreCheckedBeforeAnythingIsAllocatedOrRead() throws Exception {
        Path p = Images.qcow2(dir, "img.qcow2", List.of(), "write -P 1 0 64k");
        Images.writeInt(p, Images.L1_SIZE, -1);
        Images.writeInt(p, Images.REFCOUNT_TABLE_CLUSTERS, -1);
        Images.writeInt(p, Images.NB_SNAPSHOTS, -1);
        Images.writeLong(p, Images.SNAPSHOTS_OFFSET, 1L << 40);
        InspectionReport r = inspect(p);
        assertThat(rules(r)).contains("invalid-metadata");
        assertThat(r.findings(Rule.INVALID_METADATA)).hasSize(3);
    }

    @Test
    void oneL2TableNamedMillionsOfTimesIsNotWalkedMillionsOfTimes() throws Exception {
        // 512-byte clusters, a 2 TiB disk: an L1 table of 2^25 entries (256 MiB... too much for the file), so: a
        // 64 KiB-cluster image whose 4 Mi-entry L1 table (32 MiB, in the file) names one L2 table each time: walking
        // them would read 256 TiB
        Path p = Images.qcow2(dir, "img.qcow2", List.of(), "write -P 1 0 64k");
        long l1 = Images.readLong(p, Images.L1_TABLE_OFFSET);
        long l2 = Images.readLong(p, l1) & 0x00fffffffffffe00L;
        long newL1 = Files.size(p);
        int entries = 1 << 22;
        byte[] table = new byte[entries * 8];
        java.nio.ByteBuffer.wrap(table).asLongBuffer().put(0, l2 | (1L << 63));
        for (int i = 0; i < entries; i++) {
            java.nio.ByteBuffer.wrap(table).putLong(i * 8, l2 | (1L << 63));
        }
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.seek(newL1);
            f.write(table);
        }
        Images.writeLong(p, Images.L1_TABLE_OFFSET, newL1);
        Images.writeInt(p, Images.L1_SIZE, entries);
        Images.writeLong(p, Images.SIZE, (long) entries << 29);
        InspectionReport r = inspect(p);
        assertThat(rules(r)).contains("metadata-amplification");
        assertThat(rules(r)).doesNotContain("check-corruption"); // the check is not run
    }

    @Test
    void commandLineExitCodesAndJson() throws Exception {
        Images.qcow2(dir, "clean.qcow2", List.of());
        Images.qcow2(dir, "bad.qcow2", List.of("-u", "-b", "json:{}", "-F", "raw"));
        Cli.Result safe = Cli.runIn(dir, "inspect", "clean.qcow2");
        assertThat(safe.exitCode()).isZero();
        assertThat(safe.out()).isEqualTo("safe: clean.qcow2 (qcow2, virtual size 16777216)\n");
        Cli.Result bad = Cli.runIn(dir, "inspect", "bad.qcow2");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.out()).isEqualTo("backing-file: backing file 'json:{}' (json: options), format 'raw'\n"
                + "unsafe: bad.qcow2 (qcow2, virtual size 16777216), 1 finding\n");
        Cli.Result json = Cli.runIn(dir, "inspect", "--output=json", "bad.qcow2");
        assertThat(json.exitCode()).isEqualTo(2);
        assertThat(json.out()).startsWith("{\n    \"filename\": \"bad.qcow2\",\n    \"format\": \"qcow2\",\n"
                + "    \"virtual-size\": 16777216,\n    \"actual-size\": ")
                .contains("    \"safe\": false,\n    \"findings\": [\n        {\n            \"rule\": \"backing-file\",\n"
                        + "            \"message\": \"backing file 'json:{}' (json: options), format 'raw'\"\n"
                        + "        }\n    ]\n}\n");
        Cli.Result jsonSafe = Cli.runIn(dir, "inspect", "--output=json", "clean.qcow2");
        assertThat(jsonSafe.out()).contains("\"safe\": true,\n    \"findings\": []\n}\n");
        Cli.Result missing = Cli.runIn(dir, "inspect", "nothing.qcow2");
        assertThat(missing.exitCode()).isEqualTo(1);
        assertThat(missing.err()).contains("No such file or directory");
        assertThat(Cli.runIn(dir, "inspect", "-f", "nosuch", "clean.qcow2").exitCode()).isEqualTo(1);
        assertThat(Cli.runIn(dir, "inspect", "--output=xml", "clean.qcow2").exitCode()).isEqualTo(1);
    }
}
