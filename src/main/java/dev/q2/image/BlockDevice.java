package dev.q2.image;

import java.io.IOException;
import java.nio.ByteBuffer;

/** A guest-visible disk: a qcow2 image or a raw file, read (and for qcow2 written) at any byte offset. */
public interface BlockDevice extends AutoCloseable {
    /** Virtual size in bytes. */
    long size();

    /** Fills {@code dst} from guest {@code offset}; bytes past {@link #size()} read as zeros. */
    void read(long offset, ByteBuffer dst) throws IOException;

    /**
     * How the range starting at {@code offset} is backed, for copying without reading zeros: the length of the
     * run from {@code offset} (at most {@code length}) whose status is the same, and whether it reads as zeros
     * for certain.
     */
    default Extent status(long offset, long length) throws IOException {
        return new Extent(offset, length, false);
    }

    @Override
    void close() throws IOException;

    /** A run of guest bytes; {@code zero} means it certainly reads as zeros. */
    record Extent(long offset, long length, boolean zero) {
    }
}
