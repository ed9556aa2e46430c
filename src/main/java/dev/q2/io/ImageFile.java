package dev.q2.io;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * Positioned reads and writes over one image's {@link Storage} (a file, memory, or an application's storage), with
 * the byte counts q2 reports. Reads past the end are errors unless the caller asks for zero fill, so that a table
 * pointing outside the file is noticed instead of read as zeros. Not thread-safe for its counters; the reads and
 * writes themselves go straight to the storage.
 */
public final class ImageFile implements AutoCloseable {
    private final Storage storage;
    private long bytesWritten;
    private long bytesRead;
    /**
     * Changes since the handle was opened (writes, hole punches, length changes, and any hand-out of the channel or
     * storage, through which the caller may write), and that count at the last flush: QEMU's write_gen and
     * flushed_gen, with which bdrv_co_flush skips a flush when nothing was written since the last one.
     */
    private long writeGen = 1;
    private long flushedGen;

    /**
     * An image file over any storage; closing it closes the storage.
     *
     * @param storage where the bytes are
     */
    public ImageFile(Storage storage) {
        this.storage = java.util.Objects.requireNonNull(storage, "storage");
    }

    /**
     * Opens a file for reading.
     *
     * @param path the file
     * @return the open file
     * @throws IOException when it cannot be opened
     */
    public static ImageFile openReadOnly(Path path) throws IOException {
        return new ImageFile(FileStorage.openReadOnly(path));
    }

    /**
     * Opens an existing file (or block device) for reading and writing.
     *
     * @param path the file
     * @return the open file
     * @throws IOException when it cannot be opened
     */
    public static ImageFile openReadWrite(Path path) throws IOException {
        return new ImageFile(FileStorage.openReadWrite(path));
    }

    /**
     * The storage the bytes are in.
     *
     * @return the storage
     */
    public Storage storage() {
        writeGen++;
        return storage;
    }

    /**
     * The file's path, or null when the storage is not a file.
     *
     * @return the path or null
     */
    public Path path() {
        return storage instanceof FileStorage fs ? fs.path() : null;
    }

    /**
     * The file's channel (for locks, memory maps and bulk copies), or null when the storage is not a file.
     *
     * @return the channel or null
     */
    public FileChannel channel() {
        writeGen++;
        return storage instanceof FileStorage fs ? fs.channel() : null;
    }

    /**
     * Whether the storage was opened for writing.
     *
     * @return true when writable
     */
    public boolean writable() {
        return storage.writable();
    }

    /**
     * The storage's size.
     *
     * @return the size in bytes
     * @throws IOException when it cannot be read
     */
    public long size() throws IOException {
        return storage.size();
    }

    /**
     * A request QEMU's block layer refuses with EIO ({@code bdrv_check_request}): a negative offset, or one whose end
     * passes 2^63 - 1. Such offsets come only from corrupt metadata (a table entry with its top bits set); the JDK
     * would throw an IllegalArgumentException.
     */
    private static void checkRange(long position, int length) throws IOException {
        if (position < 0 || position + length < 0) {
            throw new IOException("Input/output error");
        }
    }

    /**
     * Fills {@code dst} from {@code position}; fails if the file ends first.
     *
     * @param position the offset in the file
     * @param dst filled to its limit
     * @throws IOException when the storage cannot be read; an {@link EOFException} when it ends first
     */
    public void readFully(long position, ByteBuffer dst) throws IOException {
        long end = readUntilEnd(position, dst);
        if (end >= 0) {
            throw new EOFException(String.format("read at offset %d runs past the end of %s", end, storage.name()));
        }
    }

    /**
     * Fills {@code dst} from {@code position}, with zeros for the part past the end of the file.
     *
     * @param position the offset in the file
     * @param dst filled to its limit
     * @throws IOException when the storage cannot be read
     */
    public void readZeroFilled(long position, ByteBuffer dst) throws IOException {
        if (readUntilEnd(position, dst) >= 0) {
            while (dst.hasRemaining()) {
                dst.put((byte) 0);
            }
        }
    }

    /** Fills {@code dst} from {@code position}; returns -1, or where the file ended with {@code dst} not full. */
    private long readUntilEnd(long position, ByteBuffer dst) throws IOException {
        checkRange(position, dst.remaining());
        bytesRead += dst.remaining();
        long pos = position;
        while (dst.hasRemaining()) {
            int n = storage.read(pos, dst);
            if (n < 0) {
                return pos;
            }
            pos += n;
        }
        return -1;
    }

    /**
     * Writes all of {@code src} at {@code position}.
     *
     * @param position where to write
     * @param src the bytes
     * @throws IOException when the storage cannot be written
     */
    public void writeFully(long position, ByteBuffer src) throws IOException {
        checkRange(position, src.remaining());
        bytesWritten += src.remaining();
        writeGen++;
        long pos = position;
        while (src.hasRemaining()) {
            pos += storage.write(pos, src);
        }
    }

    /**
     * Writes zeros over {@code [from, to)}, a megabyte at a time (no hole punching: the bytes are allocated).
     *
     * @param from the first byte
     * @param to the byte after the last
     * @throws IOException when the storage cannot be written
     */
    public void fillZeros(long from, long to) throws IOException {
        ByteBuffer zeros = ByteBuffer.allocate(1 << 20);
        for (long pos = from; pos < to; ) {
            int n = (int) Math.min(zeros.capacity(), to - pos);
            zeros.clear().limit(n);
            writeFully(pos, zeros);
            pos += n;
        }
    }

    /**
     * Bytes written through this handle so far (data and metadata alike).
     *
     * @return the count
     */
    public long bytesWritten() {
        return bytesWritten;
    }

    /**
     * Bytes read through this handle so far.
     *
     * @return the count
     */
    public long bytesRead() {
        return bytesRead;
    }

    /**
     * Sets the file's length, growing it sparsely or cutting it (ftruncate).
     *
     * @param size the new length
     * @throws IOException when the storage cannot be resized
     */
    public void setLength(long size) throws IOException {
        writeGen++;
        storage.setSize(size);
    }

    /**
     * Makes {@code [offset, offset + length)} read as zeros by deallocating it (fallocate PUNCH_HOLE, KEEP_SIZE), as
     * QEMU's file-posix driver writes zeros that may be unmapped. False when the system cannot (no JNI helper, a
     * file system without hole punching, a storage that is not a file); the caller then writes zeros.
     *
     * @param offset where the range starts
     * @param length its length
     * @return whether the range was deallocated
     * @throws IOException on an I/O error or a full device
     */
    public boolean punchHole(long offset, long length) throws IOException {
        writeGen++;
        if (!(storage instanceof FileStorage fs) || !fs.punchHole(offset, length)) {
            return false;
        }
        bytesWritten += length;
        return true;
    }

    /**
     * Makes the writes so far durable; as QEMU's bdrv_co_flush, does not ask the storage again when nothing changed
     * through this handle since its last flush.
     *
     * @throws IOException when the storage cannot flush
     */
    public void flush() throws IOException {
        long gen = writeGen;
        if (gen != flushedGen) {
            storage.flush();
            flushedGen = gen;
        }
        java.util.function.Consumer<Path> hook = syncHook;
        Path p = hook == null ? null : path();
        if (p != null) {
            hook.accept(p);
        }
    }

    private static volatile java.util.function.Consumer<Path> syncHook;

    /**
     * For crash tests only: {@code hook} sees the file's path after every {@link #flush} (a sync point, where a crash
     * test copies the files as a crash would leave them); null removes it. Global to the process.
     */
    public static void syncHookForTests(java.util.function.Consumer<Path> hook) {
        syncHook = hook;
    }

    @Override
    public void close() throws IOException {
        storage.close();
    }
}
