package dev.q2.compare;

import dev.q2.image.BlockDevice;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * qemu-img compare: the first difference, reported at the start of the 512-byte sector that holds it; a size
 * difference is a warning as long as the larger image's extra part reads as zeros (an error in strict mode).
 */
public final class Comparer {
    private static final int CHUNK = 1 << 20;
    private static final int SECTOR = 512;

    private Comparer() {
    }

    /** The outcome: identical, or the offset of the first mismatch, plus whether the sizes differed. */
    public record Result(boolean identical, long mismatchOffset, boolean sizeMismatch, boolean strictSizeFailure) {
    }

    public static Result compare(BlockDevice a, BlockDevice b, boolean strict) throws IOException {
        boolean sizeMismatch = a.size() != b.size();
        if (sizeMismatch && strict) {
            return new Result(false, -1, true, true);
        }
        long common = Math.min(a.size(), b.size());
        ByteBuffer ba = ByteBuffer.allocate(CHUNK);
        ByteBuffer bb = ByteBuffer.allocate(CHUNK);
        long pos = 0;
        while (pos < common) {
            BlockDevice.Extent ea = a.status(pos, Math.min(CHUNK, common - pos));
            BlockDevice.Extent eb = b.status(pos, Math.min(CHUNK, common - pos));
            long step = Math.max(1, Math.min(ea.length(), eb.length()));
            if (!(ea.zero() && eb.zero())) {
                ba.clear().limit((int) step);
                bb.clear().limit((int) step);
                a.read(pos, ba);
                b.read(pos, bb);
                int m = Arrays.mismatch(ba.array(), 0, (int) step, bb.array(), 0, (int) step);
                if (m >= 0) {
                    return new Result(false, (pos + m) / SECTOR * SECTOR, sizeMismatch, false);
                }
            }
            pos += step;
        }
        BlockDevice longer = a.size() > b.size() ? a : b;
        while (pos < longer.size()) {
            BlockDevice.Extent e = longer.status(pos, Math.min(CHUNK, longer.size() - pos));
            long step = Math.max(1, e.length());
            if (!e.zero()) {
                ba.clear().limit((int) step);
                longer.read(pos, ba);
                for (int i = 0; i < step; i++) {
                    if (ba.get(i) != 0) {
                        return new Result(false, (pos + i) / SECTOR * SECTOR, sizeMismatch, false);
                    }
                }
            }
            pos += step;
        }
        return new Result(true, -1, sizeMismatch, false);
    }
}
