package dev.q2.format;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Refcounts of every width round-trip and land where the spec puts them. */
class RefcountBlockTest {
    @ParameterizedTest(name = "refcount_order {0}")
    @ValueSource(ints = {0, 1, 2, 3, 4, 5, 6})
    void everyWidthRoundTrips(int order) {
        ByteBuffer block = ByteBuffer.allocate(512);
        int entries = (int) RefcountBlock.entriesPerBlock(9, order);
        long max = RefcountBlock.maxRefcount(order);
        long[] expected = new long[entries];
        Random rnd = new Random(order);
        for (int i = 0; i < entries; i++) {
            expected[i] = order == 6 ? rnd.nextLong() & Long.MAX_VALUE : Math.floorMod(rnd.nextLong(), max + 1);
            RefcountBlock.set(block, order, i, expected[i]);
        }
        for (int i = 0; i < entries; i++) {
            assertThat(RefcountBlock.get(block, order, i)).as("entry %d", i).isEqualTo(expected[i]);
        }
    }

    @ParameterizedTest(name = "refcount_order {0}")
    @ValueSource(ints = {0, 1, 2, 3, 4, 5, 6})
    void theByteArrayAccessorsReadAndWriteTheSameBytes(int order) {
        ByteBuffer viaBuffer = ByteBuffer.allocate(512);
        byte[] viaArray = new byte[512];
        int entries = (int) RefcountBlock.entriesPerBlock(9, order);
        long max = RefcountBlock.maxRefcount(order);
        Random rnd = new Random(100 + order);
        for (int i = 0; i < entries; i++) {
            long v = order == 6 ? rnd.nextLong() & Long.MAX_VALUE : Math.floorMod(rnd.nextLong(), max + 1);
            RefcountBlock.set(viaBuffer, order, i, v);
            RefcountBlock.set(viaArray, order, i, v);
        }
        assertThat(viaArray).isEqualTo(viaBuffer.array());
        for (int i = 0; i < entries; i++) {
            assertThat(RefcountBlock.get(viaArray, order, i)).as("entry %d", i)
                    .isEqualTo(RefcountBlock.get(viaBuffer, order, i));
        }
    }

    @ParameterizedTest(name = "refcount_order {0}")
    @ValueSource(ints = {0, 1, 2})
    void subByteRefcountsStartAtTheLeastSignificantBits(int order) {
        ByteBuffer block = ByteBuffer.allocate(512);
        RefcountBlock.set(block, order, 0, 1);
        assertThat(block.get(0)).isEqualTo((byte) 1);
        RefcountBlock.set(block, order, 1, 1);
        assertThat(block.get(0)).isEqualTo((byte) (1 | 1 << (1 << order)));
    }

    @ParameterizedTest(name = "refcount_order {0}")
    @ValueSource(ints = {3, 4, 5, 6})
    void wideRefcountsAreBigEndian(int order) {
        ByteBuffer block = ByteBuffer.allocate(512);
        RefcountBlock.set(block, order, 1, 1);
        int bytes = (1 << order) / 8;
        assertThat(block.get(2 * bytes - 1)).isEqualTo((byte) 1);
    }
}
