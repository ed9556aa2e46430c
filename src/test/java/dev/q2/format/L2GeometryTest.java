package dev.q2.format;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/** The L2 geometry the spec derives from cluster_bits and the extended L2 bit. */
class L2GeometryTest {
    /** 64 KiB clusters: standard entries are 8 bytes; extended ones 16, with 32 subclusters. */
    @ParameterizedTest(name = "extended L2 {0}")
    @CsvSource({
        "false, 8, 13, 8192, 536870912, 1, 65536, 16", // one table maps 512 MiB
        "true, 16, 12, 4096, 268435456, 32, 2048, 11",
    })
    void entriesOf64KiBClusters(boolean extended, int entrySize, int l2Bits, int entriesPerTable, long bytesPerTable,
                                int subclustersPerCluster, int subclusterSize, int subclusterBits) {
        L2Geometry g = new L2Geometry(16, extended);
        assertThat(g.entrySize()).isEqualTo(entrySize);
        assertThat(g.l2Bits()).isEqualTo(l2Bits);
        assertThat(g.entriesPerTable()).isEqualTo(entriesPerTable);
        assertThat(g.bytesPerTable()).isEqualTo(bytesPerTable);
        assertThat(g.subclustersPerCluster()).isEqualTo(subclustersPerCluster);
        assertThat(g.subclusterSize()).isEqualTo(subclusterSize);
        assertThat(g.subclusterBits()).isEqualTo(subclusterBits);
    }

    @Test
    void indexesSplitAGuestClusterIndex() {
        L2Geometry g = new L2Geometry(9, false); // 64 entries per table
        assertThat(g.l1Index(130)).isEqualTo(2);
        assertThat(g.l2Index(130)).isEqualTo(2);
        assertThat(L2Geometry.entriesPerTable(512, true)).isEqualTo(32);
    }
}
