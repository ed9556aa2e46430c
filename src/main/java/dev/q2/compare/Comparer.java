package dev.q2.compare;

import dev.q2.compress.CompressionException;
import dev.q2.format.FormatException;
import dev.q2.image.BlockDevice;
import dev.q2.image.ImageException;
import dev.q2.block.BlockStatus;
import dev.q2.block.BlockGraph;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * qemu-img compare, walked as img_compare walks it. From offset 0, each step asks both chains for the block status
 * of the rest of the image ({@code bdrv_block_status_above} with no base) and takes the shorter of the two runs:
 * where both read as zeros nothing is read; where both are allocated both are read (at most 2 MiB) and compared;
 * where only one is allocated that one is read and must be zeros; where neither is, nothing is compared. The first
 * difference is reported at the start of the 512-byte sector (counted from the step's start) that holds it. Then,
 * when the sizes differ, the longer image's tail must read as zeros (after a warning).
 *
 * <p>Strict mode fails first where the sizes differ, then where the two sets of block status flags differ (all of
 * them: allocated, zero, data, host offset valid, EOF). A failed status query or read ends the walk with a
 * {@link StatusException} or {@link ReadException}, as qemu-img fails with exit codes 3 and 4.
 */
public final class Comparer {
    /** qemu-img compare reads at most this much at a time (IO_BUF_SIZE), which splits its status walk too. */
    private static final int MAX_READ = 2 << 20;
    private static final int SECTOR = 512;
    /**
     * Zeros to compare against. Buffers are direct, and compared with ByteBuffer.mismatch (vectorised): reading
     * into a heap buffer costs the channel a copy, and a byte loop is several times slower.
     */
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(1 << 16).asReadOnlyBuffer();

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

    /** The outcome and its offset (-1 when none). */
    public record Result(Outcome outcome, long offset) {
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

    /** Reading guest data failed (qemu-img: "Error while reading offset N of F", exit 4). */
    public static final class ReadException extends IOException {
        private final int image;
        private final long offset;

        ReadException(int image, long offset, Exception cause) {
            super(cause.getMessage(), cause);
            this.image = image;
            this.offset = offset;
        }

        /** 1 or 2: which image. */
        public int image() {
            return image;
        }

        /** Where the failed read started. */
        public long offset() {
            return offset;
        }
    }

    /** One image: its guest data, and its chain for block status. */
    public record Image(BlockDevice data, BlockGraph chain) {
    }

    /**
     * Compares two images.
     *
     * @param strict       qemu-img compare -s
     * @param sizeWarning  called when the sizes differ and the common part compared equal, before the longer
     *                     image's tail is looked at (qemu-img prints "Warning: Image size mismatch!" then)
     */
    public static Result compare(Image a, Image b, boolean strict, Runnable sizeWarning) throws IOException {
        long size1 = a.chain().length();
        long size2 = b.chain().length();
        if (strict && size1 != size2) {
            return new Result(Outcome.SIZE_MISMATCH, -1);
        }
        long common = Math.min(size1, size2);
        ByteBuffer buf1 = null;
        ByteBuffer buf2 = null;
        long offset = 0;
        while (offset < common) {
            BlockStatus.Run s1 = status(1, a.chain(), offset, size1 - offset);
            BlockStatus.Run s2 = status(2, b.chain(), offset, size2 - offset);
            long chunk = Math.min(s1.length(), s2.length());
            if (strict && s1.flags() != s2.flags()) {
                return new Result(Outcome.STATUS_MISMATCH, offset);
            }
            boolean allocated1 = s1.has(BlockStatus.ALLOCATED);
            boolean allocated2 = s2.has(BlockStatus.ALLOCATED);
            if (s1.has(BlockStatus.ZERO) && s2.has(BlockStatus.ZERO)) {
                // nothing to compare
            } else if (allocated1 && allocated2) {
                int n = (int) Math.min(chunk, MAX_READ);
                if (buf1 == null) {
                    buf1 = ByteBuffer.allocateDirect(MAX_READ);
                }
                if (buf2 == null) {
                    buf2 = ByteBuffer.allocateDirect(MAX_READ);
                }
                read(1, a.data(), offset, n, buf1);
                read(2, b.data(), offset, n, buf2);
                int m = buf1.slice(0, n).mismatch(buf2.slice(0, n));
                if (m >= 0) {
                    // qemu-img counts whole sectors from the step's start, which need not be sector-aligned
                    return new Result(Outcome.CONTENT_MISMATCH, offset + m / SECTOR * SECTOR);
                }
                chunk = n;
            } else if (allocated1 != allocated2) {
                int n = (int) Math.min(chunk, MAX_READ);
                if (buf1 == null) {
                    buf1 = ByteBuffer.allocateDirect(MAX_READ);
                }
                long nonZero = allocated1 ? nonZero(1, a.data(), offset, n, buf1) : nonZero(2, b.data(), offset, n,
                        buf1);
                if (nonZero >= 0) {
                    return new Result(Outcome.CONTENT_MISMATCH, nonZero);
                }
                chunk = n;
            }
            // neither allocated (nor zero: nothing below answers): taken as equal without reading
            offset += chunk;
        }
        if (size1 == size2) {
            return new Result(Outcome.IDENTICAL, -1);
        }
        sizeWarning.run();
        int over = size1 > size2 ? 1 : 2;
        Image longer = over == 1 ? a : b;
        long end = Math.max(size1, size2);
        while (offset < end) {
            BlockStatus.Run s = status(over, longer.chain(), offset, end - offset);
            long chunk = s.length();
            if (s.has(BlockStatus.ALLOCATED) && !s.has(BlockStatus.ZERO)) {
                int n = (int) Math.min(chunk, MAX_READ);
                if (buf1 == null) {
                    buf1 = ByteBuffer.allocateDirect(MAX_READ);
                }
                long nonZero = nonZero(over, longer.data(), offset, n, buf1);
                if (nonZero >= 0) {
                    return new Result(Outcome.CONTENT_MISMATCH, nonZero);
                }
                chunk = n;
            }
            offset += chunk;
        }
        return new Result(Outcome.IDENTICAL, -1);
    }

    /** Reads {@code n} bytes at {@code offset}; the offset of the first sector (from there) that is not zeros. */
    private static long nonZero(int image, BlockDevice d, long offset, int n, ByteBuffer buf) throws IOException {
        read(image, d, offset, n, buf);
        for (int at = 0; at < n; at += ZEROS.capacity()) {
            int len = Math.min(ZEROS.capacity(), n - at);
            int m = buf.slice(at, len).mismatch(ZEROS.slice(0, len));
            if (m >= 0) {
                return offset + (at + m) / SECTOR * SECTOR;
            }
        }
        return -1;
    }

    private static void read(int image, BlockDevice d, long offset, int n, ByteBuffer buf) throws IOException {
        buf.clear().limit(n);
        try {
            d.read(offset, buf);
        } catch (IOException e) {
            throw new ReadException(image, offset, e);
        }
    }

    private static BlockStatus.Run status(int image, BlockGraph chain, long offset, long bytes)
            throws IOException {
        BlockStatus.Run r;
        try {
            r = chain.statusAbove(offset, bytes);
        } catch (IOException e) {
            throw new StatusException(image, e);
        }
        if (r.length() <= 0) {
            throw new IllegalStateException("block status made no progress at offset " + offset);
        }
        return r;
    }
}
