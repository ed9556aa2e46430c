package dev.q2.compare;

import dev.q2.image.BlockDevice;
import dev.q2.image.ImageException;
import dev.q2.map.BlockStatus;
import dev.q2.map.ChainReader;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * qemu-img compare: the first difference, reported at the start of the 512-byte sector that holds it; a size
 * difference is a warning as long as the larger image's extra part reads as zeros (an error in strict mode).
 * Strict mode also fails where the two chains' block status flags differ ({@link #compareStrict}).
 */
public final class Comparer {
    private static final int CHUNK = 1 << 20;
    /** qemu-img compare reads at most this much at a time (IO_BUF_SIZE), which splits its status walk too. */
    private static final int STRICT_READ = 2 << 20;
    private static final int SECTOR = 512;

    private Comparer() {
    }

    /** How a comparison ended. */
    public enum Outcome {
        IDENTICAL,
        /** Guest data differs at {@link Result#offset()}. */
        CONTENT_MISMATCH,
        /** Strict mode: the sizes differ. */
        SIZE_MISMATCH,
        /** Strict mode: the block status flags differ at {@link Result#offset()}. */
        STATUS_MISMATCH
    }

    /**
     * The outcome, its offset (-1 when none), and whether qemu-img warns that the sizes differ: it does once the
     * common part has compared equal, before it looks at the longer image's tail.
     */
    public record Result(Outcome outcome, long offset, boolean sizeWarning) {
        public boolean identical() {
            return outcome == Outcome.IDENTICAL;
        }
    }

    /** A block status query failed for one of the images (qemu-img: "Sector allocation test failed"). */
    public static final class StatusException extends IOException {
        private final int image;

        StatusException(int image, Exception cause) {
            super(cause.getMessage(), cause);
            this.image = image;
        }

        /** 1 or 2: which image. */
        public int image() {
            return image;
        }
    }

    /**
     * The non-strict comparison: guest contents only. Sizes count in whole 512-byte sectors, as QEMU's block layer
     * counts them, so a raw file of 1000 bytes has the size of a 1024-byte qcow2 image (its tail reads as zeros).
     */
    public static Result compare(BlockDevice a, BlockDevice b) throws IOException {
        long sizeA = sectorsRoundedUp(a.size());
        long sizeB = sectorsRoundedUp(b.size());
        boolean sizeMismatch = sizeA != sizeB;
        long common = Math.min(sizeA, sizeB);
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
                    return new Result(Outcome.CONTENT_MISMATCH, (pos + m) / SECTOR * SECTOR, false);
                }
            }
            pos += step;
        }
        BlockDevice longer = sizeA > sizeB ? a : b;
        long longerSize = Math.max(sizeA, sizeB);
        while (pos < longerSize) {
            BlockDevice.Extent e = longer.status(pos, Math.min(CHUNK, longerSize - pos));
            long step = Math.max(1, e.length());
            if (!e.zero()) {
                ba.clear().limit((int) step);
                longer.read(pos, ba);
                for (int i = 0; i < step; i++) {
                    if (ba.get(i) != 0) {
                        return new Result(Outcome.CONTENT_MISMATCH, (pos + i) / SECTOR * SECTOR, sizeMismatch);
                    }
                }
            }
            pos += step;
        }
        return new Result(Outcome.IDENTICAL, -1, sizeMismatch);
    }

    private static long sectorsRoundedUp(long n) {
        return n > Long.MAX_VALUE - (SECTOR - 1) ? n : (n + SECTOR - 1) & -SECTOR;
    }

    /**
     * The strict comparison, walked as qemu-img compare -s walks it: sizes (in whole sectors, as the block layer
     * counts them) must be equal; then, from offset 0, each step asks both chains for the status of the rest of
     * the image and fails at the step's offset when the flags differ (all of them: allocated, zero, data, host
     * offset valid, EOF). Equal flags that are zero on both sides are skipped; allocated runs are read (at most
     * 2 MiB per step) and compared; the step is the shorter of the two runs.
     *
     * @param a    the first image's data
     * @param sa   the first image's chain, for block status
     * @param b    the second image's data
     * @param sb   the second image's chain
     */
    public static Result compareStrict(BlockDevice a, ChainReader sa, BlockDevice b, ChainReader sb)
            throws IOException {
        long size = sa.length();
        if (size != sb.length()) {
            return new Result(Outcome.SIZE_MISMATCH, -1, true);
        }
        ByteBuffer ba = null;
        ByteBuffer bb = null;
        long offset = 0;
        while (offset < size) {
            BlockStatus.Run s1 = status(1, sa, offset, size - offset);
            BlockStatus.Run s2 = status(2, sb, offset, size - offset);
            long chunk = Math.min(s1.length(), s2.length());
            if (s1.flags() != s2.flags()) {
                return new Result(Outcome.STATUS_MISMATCH, offset, false);
            }
            if (!s1.has(BlockStatus.ZERO) && s1.has(BlockStatus.ALLOCATED)) {
                chunk = Math.min(chunk, STRICT_READ);
                if (ba == null) {
                    ba = ByteBuffer.allocate(STRICT_READ);
                    bb = ByteBuffer.allocate(STRICT_READ);
                }
                int n = (int) chunk;
                ba.clear().limit(n);
                bb.clear().limit(n);
                a.read(offset, ba);
                b.read(offset, bb);
                int m = Arrays.mismatch(ba.array(), 0, n, bb.array(), 0, n);
                if (m >= 0) {
                    // qemu-img counts whole sectors from the step's start, which need not be sector-aligned
                    return new Result(Outcome.CONTENT_MISMATCH, offset + m / SECTOR * SECTOR, false);
                }
            }
            // an unallocated run that is not zero (nothing below answers) is taken as equal without reading
            offset += chunk;
        }
        return new Result(Outcome.IDENTICAL, -1, false);
    }

    private static BlockStatus.Run status(int image, ChainReader chain, long offset, long bytes)
            throws IOException {
        BlockStatus.Run r;
        try {
            r = chain.statusAbove(offset, bytes);
        } catch (IOException | ImageException e) {
            throw new StatusException(image, e);
        }
        if (r.length() <= 0) {
            throw new IllegalStateException("block status made no progress at offset " + offset);
        }
        return r;
    }
}
