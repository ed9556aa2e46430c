package dev.q2.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.q2.image.DiskOptions;
import dev.q2.image.Qcow2Disk;

import java.nio.ByteBuffer;

/**
 * Fuzzes the engine's read path: {@code Qcow2Disk.read} over the whole disk in a few chunks (a disk above 32 MiB:
 * 1 MiB at its start, at a third, at two thirds and at its end), through the backing chain and data file.
 */
class ReadFuzzTest {
    private static final long WHOLE = 32L << 20;
    private static final int CHUNK = 1 << 20;

    @FuzzTest(maxDuration = "5m")
    void read(byte[] input) throws Exception {
        Q2Errors.onImage(input, img -> {
            try (Qcow2Disk d = Qcow2Disk.open(img, DiskOptions.readOnly())) {
                long size = d.size();
                ByteBuffer buf = ByteBuffer.allocate(CHUNK);
                if (size <= WHOLE) {
                    long step = Math.max(CHUNK, (size + 3) / 4);
                    for (long off = 0; off < size; ) {
                        int n = (int) Math.min(Math.min(step, CHUNK), size - off);
                        buf.clear().limit(n);
                        d.read(off, buf);
                        off += n;
                    }
                } else {
                    for (long off : new long[] {0, size / 3, size / 3 * 2, size - CHUNK}) {
                        buf.clear();
                        d.read(off & ~511L, buf);
                    }
                }
            }
        });
    }
}
