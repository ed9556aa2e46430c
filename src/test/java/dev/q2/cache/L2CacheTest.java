package dev.q2.cache;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class L2CacheTest {
    @Test
    void sizingFollowsTheFormula() {
        long tib = 1L << 40;
        // The numbers docs/l2-cache.md quotes.
        assertThat(new L2CacheSizing(tib, 64 << 10, false).fullCoverageBytes()).isEqualTo(128L << 20);
        assertThat(new L2CacheSizing(128L << 30, 64 << 10, true).defaultCacheCoverageBytes()).isEqualTo(128L << 30);
        assertThat(new L2CacheSizing(4 * tib, 64 << 10, true).defaultCacheCoverageBytes()).isEqualTo(128L << 30);
        assertThat(new L2CacheSizing(4 * tib, 128 << 10, true).defaultCacheCoverageBytes()).isEqualTo(256L << 30);
        assertThat(new L2CacheSizing(4 * tib, 2 << 20, true).defaultCoversDisk()).isTrue();
        assertThat(new L2CacheSizing(4 * tib, 1 << 20, true).defaultCoversDisk()).isFalse();
        // 1280 MB with 64k clusters needs 160 KiB of entries but three whole tables.
        assertThat(new L2CacheSizing(1280L << 20, 64 << 10, false).fullCoverageBytes()).isEqualTo(3 * 65536);
        assertThat(new L2CacheSizing(1 << 20, 64 << 10, false).defaultCapacity(32 << 20)).isEqualTo(65536);
    }

    /** The rows of the table in docs/l2-cache.md. */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0} KiB clusters, extended L2 {1}")
    @org.junit.jupiter.params.provider.CsvSource({
        "64, false, 512, 256, 128, 512",
        "64, true, 256, 128, 256, 1024",
        "128, false, 2048, 512, 64, 256",
        "128, true, 1024, 256, 128, 512",
        "2048, false, 524288, 8192, 4, 16",
        "2048, true, 262144, 4096, 8, 32",
    })
    void docsTableRows(long clusterKiB, boolean ext, long tableMapsMiB, long defaultMapsGiB, long oneTiBMiB,
                       long fourTiBMiB) {
        long tib = 1L << 40;
        L2CacheSizing big = new L2CacheSizing(64 * tib, clusterKiB << 10, ext);
        assertThat(big.bytesPerTable()).isEqualTo(tableMapsMiB << 20);
        assertThat(big.defaultCacheCoverageBytes()).isEqualTo(defaultMapsGiB << 30);
        assertThat(new L2CacheSizing(tib, clusterKiB << 10, ext).fullCoverageBytes()).isEqualTo(oneTiBMiB << 20);
        assertThat(new L2CacheSizing(4 * tib, clusterKiB << 10, ext).fullCoverageBytes()).isEqualTo(fourTiBMiB << 20);
    }

    @Test
    void evictsTheLeastRecentlyUsedAndWritesBackDirtySlices() throws Exception {
        List<Long> loads = new ArrayList<>();
        List<Long> writes = new ArrayList<>();
        L2Cache c = new L2Cache(2 * 4096, 4096, (off, b) -> loads.add(off), (off, b) -> writes.add(off));
        c.get(0);
        c.get(4096);
        c.markDirty(4096);      // marking counts as a use
        c.get(0);               // hit; 4096 is now the eldest
        c.get(8192);            // evicts 4096, which is dirty
        assertThat(writes).containsExactly(4096L);
        c.get(0);               // still cached
        assertThat(loads).containsExactly(0L, 4096L, 8192L);
        assertThat(c.hits()).isEqualTo(2);
        assertThat(c.misses()).isEqualTo(3);
        assertThat(c.bytesRead()).isEqualTo(3 * 4096);
        ByteBuffer fresh = c.getEmpty(12288);
        assertThat(fresh.capacity()).isEqualTo(4096);
        c.flush();
        assertThat(writes).containsExactly(4096L, 12288L);
    }
}
