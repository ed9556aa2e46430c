package dev.q2.measure;

import dev.q2.create.CreateOptions;
import dev.q2.format.BitmapDirectoryEntry;
import dev.q2.testutil.Cli;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The library without qemu-img: figures qemu-img 7.2 printed for these inputs, and q2's L2 cache addition. */
class MeasureTest {
    private static CreateOptions options(String text) throws Exception {
        CreateOptions o = new CreateOptions();
        Measure.parseOptions("qcow2", text, o);
        return o;
    }

    @Test
    void oneGibibyteWithDefaults() throws Exception {
        MeasureResult r = Measure.measure("qcow2", options("size=1G"), null);
        assertThat(r.required()).isEqualTo(393216); // qemu-img measure -O qcow2 --size 1G
        assertThat(r.fullyAllocated()).isEqualTo(1074135040);
        assertThat(r.bitmaps()).isNull();
        assertThat(r.l2Cache().tablesForFullCoverage()).isEqualTo(2);
        assertThat(r.l2Cache().fullCoverageBytes()).isEqualTo(131072);
    }

    @Test
    void extendedL2PlansSixteenByteEntries() throws Exception {
        MeasureResult r = Measure.measure("qcow2", options("size=4T,extended_l2=on,cluster_size=64k"), null);
        assertThat(r.l2Cache().entrySize()).isEqualTo(16);
        assertThat(r.l2Cache().fullCoverageBytes()).isEqualTo(1L << 30); // docs/l2-cache.md: 1 GiB for 4 TiB
        assertThat(r.l2Cache().defaultCoversDisk()).isFalse();
    }

    @Test
    void rawHasNoMetadataAndNoL2Cache() throws Exception {
        CreateOptions o = new CreateOptions();
        Measure.parseOptions("raw", "size=1000", o);
        MeasureResult r = Measure.measure("raw", o, null);
        assertThat(r.required()).isEqualTo(1024);
        assertThat(r.fullyAllocated()).isEqualTo(1024);
        assertThat(r.l2Cache()).isNull();
    }

    @Test
    void bitmapsTakeWholeClustersTablesAndDirectory() {
        // 64 MiB, 64 KiB granularity: 128 bytes of bitmap, one cluster each for data, table and directory
        var b = new BitmapDirectoryEntry(0, 0, 0, 1, 16, "b0", 0);
        assertThat(Measure.bitmapsSize(List.of(b), 64L << 20, 65536)).isEqualTo(196608);
        assertThat(Measure.bitmapsSize(List.of(), 64L << 20, 65536)).isZero();
    }

    @Test
    void refusalsCarryQemuWords() {
        assertThatThrownBy(() -> Measure.measure("qcow2", options("size=1G,compat=v3"), null))
                .hasMessage("Invalid compatibility level: 'v3'");
        assertThatThrownBy(() -> Measure.measure("qcow2", options("size=1E"), null))
                .hasMessage("The image size is too large (try using a larger cluster size)");
    }

    @Test
    void cliPrintsL2CacheAfterQemuLines() {
        Cli.Result human = Cli.run("measure", "-O", "qcow2", "--size", "1G");
        assertThat(human.exitCode()).isZero();
        assertThat(human.out()).startsWith("required size: 393216\nfully allocated size: 1074135040\nL2 cache:\n")
                .contains("    full coverage: 128 KiB (131072 bytes)\n").doesNotContain("allocated l2 tables");
        Cli.Result json = Cli.run("measure", "-O", "qcow2", "--size", "1G", "--output=json");
        assertThat(json.out()).startsWith("{\n    \"required\": 393216,\n    \"fully-allocated\": 1074135040,\n"
                + "    \"l2-cache\": {\n").contains("\"full-coverage-bytes\": 131072");
        assertThat(Cli.run("measure", "--size", "1G").out()).doesNotContain("L2 cache");
    }
}
