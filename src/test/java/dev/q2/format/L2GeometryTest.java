package dev.q2.format;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The L2 geometry the spec derives from cluster_bits and the extended L2 bit. */
class L2GeometryTest {
    @Test
    void standardEntriesAreEightBytes() {
        L2Geometry g = new L2Geometry(16, false);
        assertThat(g.entrySize()).isEqualTo(8);
        assertThat(g.l2Bits()).isEqualTo(13);
        assertThat(g.entriesPerTable()).isEqualTo(8192);
        assertThat(g.bytesPerTable()).isEqualTo(512L << 20); // 64 KiB clusters: one table maps 512 MiB
        assertThat(g.subclustersPerCluster()).isEqualTo(1);
        assertThat(g.subclusterSize()).isEqualTo(65536);
        assertThat(g.subclusterBits()).isEqualTo(16);
    }

    @Test
    void extendedEntriesAreSixteenBytesWithThirtyTwoSubclusters() {
        L2Geometry g = new L2Geometry(16, true);
        assertThat(g.entrySize()).isEqualTo(16);
        assertThat(g.l2Bits()).isEqualTo(12);
        assertThat(g.entriesPerTable()).isEqualTo(4096);
        assertThat(g.bytesPerTable()).isEqualTo(256L << 20);
        assertThat(g.subclustersPerCluster()).isEqualTo(32);
        assertThat(g.subclusterSize()).isEqualTo(2048);
        assertThat(g.subclusterBits()).isEqualTo(11);
    }

    @Test
    void indexesSplitAGuestClusterIndex() {
        L2Geometry g = new L2Geometry(9, false); // 64 entries per table
        assertThat(g.l1Index(130)).isEqualTo(2);
        assertThat(g.l2Index(130)).isEqualTo(2);
        assertThat(L2Geometry.entriesPerTable(512, true)).isEqualTo(32);
    }
}
