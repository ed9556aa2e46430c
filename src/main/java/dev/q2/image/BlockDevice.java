package dev.q2.image;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A guest-visible disk: a qcow2 image or a raw file, read (and for qcow2 written) at any byte offset.
 *
 * <p>Block status for map, compare, convert and measure comes from {@link dev.q2.block.BlockGraph}, which opens a
 * chain as QEMU's block layer does ({@link dev.q2.block.BlockGraph#reader()} gives its guest reads as a
 * BlockDevice). {@link #layerStatus} and {@link #chainStatus} here serve the engine's own write path only: whether
 * the parts of a partly written cluster around a zero write read as zeros through the chain (QEMU's qcow2
 * {@code is_zero}), over the devices the engine has open for copy-on-write.
 */
public interface BlockDevice extends AutoCloseable {
    /** @return the virtual size in bytes */
    long size();

    /**
     * Fills {@code dst} from guest {@code offset}; bytes past {@link #size()} read as zeros.
     *
     * @param offset the guest offset
     * @param dst filled to its limit
     * @throws IOException when the image cannot be read, or is corrupt there
     */
    void read(long offset, ByteBuffer dst) throws IOException;

    /**
     * How the range starting at {@code offset} is stored in this layer alone, as QEMU's block status of an image
     * above its backing file: the run from {@code offset} (at most {@code length} bytes) whose kind is the same.
     * {@link Kind#BACKING} means this layer does not allocate the run and a backing file provides it; an unallocated
     * run without a backing file, or starting past the backing file's end, is {@link Kind#ZERO}.
     *
     * @param offset the guest offset
     * @param length the most bytes to describe
     * @return the run
     * @throws IOException when the metadata cannot be read
     */
    default Layered layerStatus(long offset, long length) throws IOException {
        return new Layered(length, Kind.DATA);
    }

    /** @return the device this one reads its unallocated areas from, or null */
    default BlockDevice backing() {
        return null;
    }

    /** @return the granularity of this layer's allocation (the cluster size of a qcow2 image), in bytes */
    default long allocationUnit() {
        return 512;
    }

    /**
     * {@link #layerStatus} resolved through the backing chain (QEMU's block status above no base): runs the top
     * layer leaves to its backing file take the backing file's kind, so the result is never {@link Kind#BACKING}.
     *
     * @param dev the top of the chain
     * @param offset the guest offset
     * @param length the most bytes to describe
     * @return the run
     * @throws IOException when the metadata cannot be read
     */
    static Layered chainStatus(BlockDevice dev, long offset, long length) throws IOException {
        Layered top = dev.layerStatus(offset, length);
        if (top.kind() != Kind.BACKING) {
            return top;
        }
        BlockDevice b = dev.backing();
        if (b == null || offset >= b.size()) {
            return new Layered(top.length(), Kind.ZERO);
        }
        long n = Math.min(top.length(), b.size() - offset);
        Layered below = chainStatus(b, offset, n);
        // past the backing file's end the disk reads zeros: a zero run there can keep the top layer's length
        long len = below.kind() == Kind.ZERO && below.length() >= n ? top.length() : below.length();
        return new Layered(len, below.kind());
    }

    @Override
    void close() throws IOException;

    /** What a layer holds for a run: data, zeros, or nothing of its own (read from the backing file). */
    enum Kind {
        /** Data (or anything not known to read as zeros). */
        DATA,
        /** Reads as zeros. */
        ZERO,
        /** Not allocated in this layer: the backing file provides it. */
        BACKING
    }

    /**
     * A run of {@code length} bytes of one {@link Kind}.
     *
     * @param length the run's length in bytes
     * @param kind what it holds
     */
    record Layered(long length, Kind kind) {
    }

}
