package dev.q2.image;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Where a copy writes guest data (convert, commit, dd), and with {@link Zeroes} how it writes zeros that may be
 * unmapped (QEMU's BDRV_REQ_MAY_UNMAP): a qcow2 image through the engine ({@link EngineTarget}) or a raw file.
 * Not thread-safe unless the target is.
 */
@FunctionalInterface
public interface GuestWriter {
    /**
     * Writes the buffer's remaining bytes at {@code offset}.
     *
     * @param offset where to write
     * @param data the bytes; consumed
     * @throws IOException when the target cannot be written
     */
    void write(long offset, ByteBuffer data) throws IOException;

    /** How a target makes a range read as zeros, unmapping it where it can. */
    @FunctionalInterface
    interface Zeroes {
        /**
         * Makes {@code [offset, offset + length)} read as zeros.
         *
         * @param offset where the range starts
         * @param length its length
         * @throws IOException when the target cannot be written
         */
        void writeZeroes(long offset, long length) throws IOException;
    }

    /**
     * Copies guest bytes {@code [from, to)} of {@code in} to {@code out}, shifted to start at {@code outOffset}, one
     * buffer at a time, in order.
     *
     * @param in the source
     * @param from the first byte
     * @param to the byte after the last
     * @param outOffset where the first byte goes
     * @param buf the buffer (its capacity is the largest piece)
     * @param out the target
     * @throws IOException when either side fails
     */
    static void copy(BlockDevice in, long from, long to, long outOffset, ByteBuffer buf, GuestWriter out)
            throws IOException {
        for (long pos = from; pos < to; ) {
            int n = (int) Math.min(buf.capacity(), to - pos);
            buf.clear().limit(n);
            in.read(pos, buf);
            buf.flip();
            out.write(outOffset + (pos - from), buf);
            pos += n;
        }
    }
}
