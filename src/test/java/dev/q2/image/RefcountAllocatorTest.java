package dev.q2.image;

import dev.q2.format.QcowHeader;
import dev.q2.format.RefcountBlock;
import dev.q2.io.ImageFile;
import dev.q2.testutil.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The refcount allocator on its own, over images made by q2 create (no qemu): allocation, freeing, packed byte
 * allocations, refcount block and table growth, every refcount width; what it leaves on disk is read back by a
 * fresh allocator and judged by q2 check.
 */
class RefcountAllocatorTest {
    @TempDir
    Path dir;

    private Path create(String options) {
        assertThat(Cli.runIn(dir, "create", "-q", "-f", "qcow2", "-o", options, "img.qcow2", "1M").exitCode())
                .isZero();
        return dir.resolve("img.qcow2");
    }

    private static RefcountAllocator allocator(ImageFile file) throws IOException {
        Qcow2Metadata image = Qcow2Metadata.load(file);
        QcowHeader h = image.header();
        return new RefcountAllocator(file, h.clusterBits(), h.refcountOrder(), h.refcountTableOffset(),
                image.refcountTable());
    }

    private void assertCheckClean() {
        Cli.Result r = Cli.runIn(dir, "check", "img.qcow2");
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
    }

    @ParameterizedTest(name = "refcount_bits {0}")
    @ValueSource(ints = {1, 2, 4, 8, 16, 32, 64})
    void allocatesAfterTheMetadataAndFreesAtEveryWidth(int bits) throws IOException {
        Path img = create("cluster_size=4096,refcount_bits=" + bits);
        long cs = 4096;
        long offset;
        try (ImageFile f = ImageFile.openReadWrite(img)) {
            long fileSize = f.size();
            RefcountAllocator r = allocator(f);
            assertThat(r.refcount(0)).as("the header cluster").isEqualTo(1);
            offset = r.allocClusters(3 * cs);
            // (the file ends with the L1 table, not on a cluster boundary)
            assertThat(offset).as("the first free clusters are past the metadata")
                    .isEqualTo((fileSize + cs - 1) / cs * cs);
            for (int i = 0; i < 3; i++) {
                assertThat(r.refcount(offset / cs + i)).isEqualTo(1);
            }
            long max = RefcountBlock.maxRefcount(Integer.numberOfTrailingZeros(bits));
            if (max >= 2) {
                r.addReferences(offset, cs, 1);
                assertThat(r.refcount(offset / cs)).isEqualTo(2);
                r.addReferences(offset, cs, -1);
            } else {
                assertThatThrownBy(() -> r.addReferences(offset, cs, 1)).isInstanceOf(ImageException.class)
                        .hasMessageContaining("would leave its range");
                assertThat(r.refcount(offset / cs)).isEqualTo(1);
            }
            r.freeClusters(offset + cs, cs);
            r.flush();
        }
        try (ImageFile f = ImageFile.openReadWrite(img)) {
            RefcountAllocator r = allocator(f);
            assertThat(r.refcount(offset / cs)).as("read back").isEqualTo(1);
            assertThat(r.refcount(offset / cs + 1)).as("freed").isZero();
            assertThat(r.refcount(offset / cs + 2)).isEqualTo(1);
            assertThat(r.allocClusters(cs)).as("a freed cluster is found again").isEqualTo(offset + cs);
            r.freeClusters(offset, 3 * cs);
            r.flush();
        }
        assertCheckClean();
    }

    @Test
    void refusesToDropARefcountBelowZero() throws IOException {
        Path img = create("cluster_size=4096");
        try (ImageFile f = ImageFile.openReadWrite(img)) {
            RefcountAllocator r = allocator(f);
            long offset = r.allocClusters(4096);
            r.freeClusters(offset, 4096);
            assertThatThrownBy(() -> r.freeClusters(offset, 4096)).isInstanceOf(ImageException.class);
        }
    }

    @Test
    void byteAllocationsShareAClusterAndCountEachUse() throws IOException {
        Path img = create("cluster_size=4096");
        try (ImageFile f = ImageFile.openReadWrite(img)) {
            RefcountAllocator r = allocator(f);
            long first = r.allocBytes(1000);
            long second = r.allocBytes(1000);
            assertThat(second).isEqualTo(first + 1000);
            assertThat(r.refcount(first / 4096)).isEqualTo(2);
            long third = r.allocBytes(3000); // crosses into the next cluster, which is free: it continues there
            assertThat(third).isEqualTo(first + 2000);
            assertThat(r.refcount(first / 4096)).isEqualTo(3);
            assertThat(r.refcount(first / 4096 + 1)).isEqualTo(1);
            r.addReferences(first, 1000, -1);
            r.addReferences(second, 1000, -1);
            r.addReferences(third, 3000, -1);
            r.flush();
        }
        assertCheckClean();
    }

    @ParameterizedTest(name = "refcount_bits {0}")
    @ValueSource(ints = {1, 16, 64})
    void growsRefcountBlocksAndTheTable(int bits) throws IOException {
        // 512-byte clusters: a refcount block of 64-bit refcounts covers 64 clusters, a table cluster 64 blocks
        Path img = create("cluster_size=512,refcount_bits=" + bits);
        long cs = 512;
        long clusters = (512L * 8 / bits) * 64 + 100; // more than one table cluster of blocks can describe
        long oldTable;
        long offset;
        try (ImageFile f = ImageFile.openReadWrite(img)) {
            RefcountAllocator r = allocator(f);
            oldTable = r.tableOffset();
            assertThat(r.tableClusters()).isEqualTo(1);
            offset = r.allocClusters(clusters * cs);
            assertThat(r.tableOffset()).as("the table moved").isNotEqualTo(oldTable);
            assertThat(r.tableClusters()).isGreaterThan(1);
            r.flush();
        }
        try (ImageFile f = ImageFile.openReadWrite(img)) {
            Qcow2Metadata image = Qcow2Metadata.load(f);
            RefcountAllocator r = allocator(f);
            assertThat(image.header().refcountTableOffset()).as("the header points at the new table")
                    .isEqualTo(r.tableOffset());
            assertThat(r.refcount(oldTable / cs)).as("the old table is freed").isZero();
            for (long i = 0; i < clusters; i++) {
                assertThat(r.refcount(offset / cs + i)).as("cluster %d", i).isEqualTo(1);
            }
            r.freeClusters(offset, clusters * cs);
            r.flush();
        }
        assertCheckClean();
    }
}
