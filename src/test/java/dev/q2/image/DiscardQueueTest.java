package dev.q2.image;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** DiscardQueue merges freed ranges as QEMU's update_refcount_discard does. */
class DiscardQueueTest {
    private static final long M = 1 << 20;

    @Test
    void rangesThatTouchBecomeOneInTheOrderFirstQueued() {
        // iotest 250's shrink: guest 5M..10M lies at host 2101M.., guest 10M..2090M at host 15M.., 2090M.. at 5M..
        DiscardQueue q = new DiscardQueue();
        for (long c = 2101; c < 2106; c++) {
            q.add(c * M, M);
        }
        for (long c = 15; c < 2095; c++) {
            q.add(c * M, M);
        }
        for (long c = 5; c < 15; c++) {
            q.add(c * M, M);
        }
        List<long[]> r = q.ranges();
        assertEquals(2, r.size());
        assertArrayEquals(new long[] {2101 * M, 5 * M}, r.get(0));
        assertArrayEquals(new long[] {5 * M, 2090 * M}, r.get(1));
    }

    @Test
    void aRangeBetweenTwoJoinsThem() {
        DiscardQueue q = new DiscardQueue();
        q.add(0, 10);
        q.add(30, 10);
        q.add(50, 10);
        q.add(10, 20); // touches the first (extends it), then the second joins it
        List<long[]> r = q.ranges();
        assertEquals(2, r.size());
        assertArrayEquals(new long[] {0, 40}, r.get(0));
        assertArrayEquals(new long[] {50, 10}, r.get(1));
    }
}
