package dev.q2.io;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The bytes an image lives in: a file ({@link FileStorage}), memory ({@link MemoryStorage}), or an application's own
 * I/O. q2 reads and writes its images only through this interface, so an image can be opened from any storage with
 * {@link dev.q2.Qcow2#open(Storage, dev.q2.OpenOptions)}.
 *
 * <p>Positions are absolute byte offsets; reads and writes do not move any cursor. A read past the end returns -1
 * (or fewer bytes than asked, stopping at the end); a write past the end grows the storage, and the gap reads as
 * zeros. QEMU's byte-range locks exist for files only: images opened from another storage are not locked.
 *
 * <p>Implementations must be safe for use by several threads at once (q2 compresses clusters on several threads and
 * writes them from one); both implementations here are.
 */
public interface Storage extends Closeable {
    /**
     * Reads bytes from {@code position} into {@code dst}, at most {@code dst.remaining()}.
     *
     * @param position the offset to read from, not negative
     * @param dst where the bytes go; its position advances by the count read
     * @return the count of bytes read, at least 1 when {@code dst} has room and {@code position} is before the end
     *     (fewer than asked only at the end); -1 when {@code position} is at or past the end
     * @throws IOException when the storage cannot be read
     */
    int read(long position, ByteBuffer dst) throws IOException;

    /**
     * Writes bytes from {@code src} at {@code position}, growing the storage when the write ends past its end.
     *
     * @param position the offset to write at, not negative
     * @param src the bytes to write; its position advances by the count written
     * @return the count of bytes written, at least 1 when {@code src} has bytes left (q2 writes the rest next)
     * @throws IOException when the storage cannot be written, or was opened read-only
     */
    int write(long position, ByteBuffer src) throws IOException;

    /**
     * The current size in bytes.
     *
     * @return the size
     * @throws IOException when the size cannot be read
     */
    long size() throws IOException;

    /**
     * Sets the size: grows the storage (the new bytes read as zeros) or cuts it.
     *
     * @param size the new size in bytes, not negative
     * @throws IOException when the storage cannot be resized, or was opened read-only
     */
    void setSize(long size) throws IOException;

    /**
     * Makes the writes done so far durable (fsync for a file; nothing for memory).
     *
     * @throws IOException when the storage cannot flush
     */
    void flush() throws IOException;

    /**
     * Whether writes are allowed.
     *
     * @return true for a storage opened for writing
     */
    boolean writable();

    /**
     * A name for messages (a file's path), or a description of the storage.
     *
     * @return the name
     */
    default String name() {
        return toString();
    }
}
