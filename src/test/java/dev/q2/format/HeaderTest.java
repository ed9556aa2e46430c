package dev.q2.format;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HeaderTest {
    private static QcowHeader v3() {
        return new QcowHeader(3, 0, 0, 16, 1L << 30, 0, 2, 0x30000, 0x10000, 1, 0, 0,
                Features.INCOMPAT_EXTL2, Features.COMPAT_LAZY_REFCOUNTS, 0, 4, 112, 1);
    }

    @Test
    void v3RoundTrips() throws FormatException {
        ByteBuffer b = ByteBuffer.allocate(512);
        v3().encode(b);
        assertThat(b.position()).isEqualTo(112);
        b.flip();
        assertThat(QcowHeader.decode(b)).isEqualTo(v3());
    }

    @Test
    void v2HasNoFeatureFields() throws FormatException {
        QcowHeader v2 = new QcowHeader(2, 0, 0, 16, 1 << 20, 0, 1, 0x30000, 0x10000, 1, 0, 0, 0, 0, 0, 4, 72, 0);
        ByteBuffer b = ByteBuffer.allocate(512);
        v2.encode(b);
        assertThat(b.position()).isEqualTo(72);
        b.flip();
        assertThat(QcowHeader.decode(b)).isEqualTo(v2);
    }

    @Test
    void badMagicIsNotQcow2() {
        assertThatThrownBy(() -> QcowHeader.decode(ByteBuffer.allocate(512)))
                .hasMessageContaining("not in qcow2 format");
    }

    @Test
    void headerClusterPutsBackingNameAfterTheEndMarker() throws FormatException {
        QcowHeader h = v3();
        List<HeaderExtension> exts = HeaderCluster.canonicalOrder(h,
                List.of(HeaderExtension.ofString(HeaderExtension.BACKING_FORMAT, "raw")));
        ByteBuffer cluster = HeaderCluster.encode(h, exts, "base.raw");
        QcowHeader decoded = QcowHeader.decode(cluster.duplicate());
        // 112 header + (8+8) backing format + (8+384) feature table + 8 end marker
        assertThat(decoded.backingFileOffset()).isEqualTo(528);
        assertThat(decoded.backingFileSize()).isEqualTo(8);
        cluster.position(112);
        List<HeaderExtension> back = HeaderExtension.decodeAll(cluster.slice(112, 528 - 112));
        assertThat(back).extracting(HeaderExtension::type)
                .containsExactly(HeaderExtension.BACKING_FORMAT, HeaderExtension.FEATURE_NAME_TABLE);
        assertThat(FeatureNameTable.decode(back.get(1).data()).nameOf(Features.TYPE_INCOMPATIBLE, 4))
                .isEqualTo("extended L2 entries");
    }

    @Test
    void smallClustersGetNoFeatureTable() {
        QcowHeader h = new QcowHeader(3, 0, 0, 12, 1 << 20, 0, 1, 0x3000, 0x1000, 1, 0, 0, 0, 0, 0, 4, 112, 0);
        assertThat(HeaderCluster.canonicalOrder(h, List.of())).isEmpty();
    }

    @Test
    void compressedDescriptorSplitsAtX() {
        long entry = new CompressedDescriptor(0x12345, 3).encode(16);
        CompressedDescriptor d = CompressedDescriptor.decode(entry, 16);
        assertThat(d.hostOffset()).isEqualTo(0x12345);
        assertThat(d.additionalSectors()).isEqualTo(3);
        assertThat(d.endOffset()).isEqualTo(0x12200 + 4 * 512);
        assertThat(entry & L2Entry.OFLAG_COMPRESSED).isNotZero();
    }
}
