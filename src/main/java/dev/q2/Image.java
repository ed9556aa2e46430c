package dev.q2;

import dev.q2.image.Qcow2Disk;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Path;

/**
 * An open qcow2 image as a guest disk, from {@link Qcow2#open(Path, OpenOptions)}: positioned reads and writes of
 * guest bytes with {@link ByteBuffer}s, zero writes, discards, and views as a {@link SeekableByteChannel} and an
 * {@link InputStream}. Reads of clusters the image does not allocate come from its backing chain (when opened) or
 * read as zeros. Guest positions run from 0 to {@link #size()}: negative positions are refused with an
 * {@link IllegalArgumentException}, as {@code FileChannel} refuses them; a write past the end is a
 * {@link Q2Exception} ({@link Q2Exception.Category#INVALID_ARGUMENT}), since a disk does not grow by writing.
 *
 * <p>Closing the image flushes what was written and releases its locks; always close it (try-with-resources).
 *
 * <p>Not thread-safe: use one image from one thread at a time (the views share the image and are not thread-safe
 * either).
 */
public final class Image implements AutoCloseable {
    private final Qcow2Disk disk;
    private final boolean writable;
    private boolean closed;

    Image(Qcow2Disk disk, boolean writable) {
        this.disk = disk;
        this.writable = writable;
    }

    /**
     * The guest disk's size (qemu-img's virtual size).
     *
     * @return bytes
     */
    public long size() {
        return disk.size();
    }

    /**
     * The cluster size, from the header.
     *
     * @return bytes
     */
    public long clusterSize() {
        return disk.header().clusterSize();
    }

    /**
     * Whether the image has extended L2 entries (32 subclusters per cluster).
     *
     * @return true with extended L2
     */
    public boolean extendedL2() {
        return disk.header().extendedL2();
    }

    /**
     * Whether the image was opened for writing.
     *
     * @return true when writable
     */
    public boolean writable() {
        return writable;
    }

    /**
     * Reads guest bytes from {@code position} into {@code dst}, as {@code FileChannel.read(dst, position)} does:
     * stops at the end of the disk.
     *
     * @param position the guest offset, not negative
     * @param dst where the bytes go; its position advances
     * @return the count of bytes read, or -1 when {@code position} is at or past the end and {@code dst} has room
     * @throws IllegalArgumentException when {@code position} is negative
     * @throws IOException when the image cannot be read (a {@link Q2Exception} for a damaged image)
     */
    public int read(long position, ByteBuffer dst) throws IOException {
        checkOpen();
        if (position < 0) {
            throw new IllegalArgumentException("negative position " + position);
        }
        if (!dst.hasRemaining()) {
            return 0;
        }
        long size = disk.size();
        if (position >= size) {
            return -1;
        }
        int n = (int) Math.min(dst.remaining(), size - position);
        ByteBuffer part = dst.slice(dst.position(), n);
        disk.read(position, part);
        dst.position(dst.position() + n);
        return n;
    }

    /**
     * Writes all of {@code src} at guest {@code position}.
     *
     * @param position the guest offset, not negative
     * @param src the bytes; its position advances to its limit
     * @return the count of bytes written (all of them)
     * @throws IllegalArgumentException when {@code position} is negative
     * @throws Q2Exception when the image is read-only or the write ends past the end of the disk
     * @throws IOException when the image cannot be written
     */
    public int write(long position, ByteBuffer src) throws IOException {
        checkWritableRange(position, src.remaining());
        int n = src.remaining();
        disk.write(position, src);
        src.position(src.limit());
        return n;
    }

    /**
     * Makes {@code [position, position + length)} read as zeros, deallocating the clusters it covers entirely (qemu-io
     * {@code write -z -u}).
     *
     * @param position the guest offset, not negative
     * @param length bytes
     * @throws Q2Exception when the image is read-only or the range ends past the end of the disk
     * @throws IOException when the image cannot be written
     */
    public void writeZeroes(long position, long length) throws IOException {
        checkWritableRange(position, length);
        disk.writeZeroes(position, length, true);
    }

    /**
     * Discards {@code [position, position + length)}: the clusters it covers entirely become unallocated (they read
     * from the backing chain again, or as zeros).
     *
     * @param position the guest offset, not negative
     * @param length bytes
     * @throws Q2Exception when the image is read-only or the range ends past the end of the disk
     * @throws IOException when the image cannot be written
     */
    public void discard(long position, long length) throws IOException {
        checkWritableRange(position, length);
        disk.discard(position, length, false);
    }

    /**
     * Writes the cached metadata and, unless opened without durable flushes, makes all writes durable.
     *
     * @throws IOException when the image cannot be written
     */
    public void flush() throws IOException {
        checkOpen();
        if (writable) {
            disk.flush();
        }
    }

    /**
     * A channel over the guest disk, starting at position 0. It is read-only unless the image is writable and
     * {@code writable} is true; a read-only channel's writes throw {@code NonWritableChannelException}. Its size is
     * the disk's; {@code truncate} is not supported. Closing the channel does not close the image.
     *
     * @param writable whether the channel may write
     * @return the channel
     */
    public SeekableByteChannel channel(boolean writable) {
        checkOpenUnchecked();
        return new GuestChannel(this, writable && this.writable);
    }

    /**
     * A stream of the guest disk's bytes from {@code position} to its end. Closing the stream does not close the
     * image.
     *
     * @param position where to start, from 0 to {@link #size()}
     * @return the stream
     * @throws IllegalArgumentException when {@code position} is negative or past the end
     */
    public InputStream inputStream(long position) {
        checkOpenUnchecked();
        if (position < 0 || position > size()) {
            throw new IllegalArgumentException("position " + position + " outside the disk (0 to " + size() + ")");
        }
        return new GuestInputStream(this, position);
    }

    /**
     * L2 cache lookups so far that found their table slice in the cache (for tuning its size with
     * {@link OpenOptions#withL2CacheSize}).
     *
     * @return the count of hits
     */
    public long l2CacheHits() {
        return disk.l2Cache().hits();
    }

    /**
     * L2 cache lookups so far that had to read their table slice from the image.
     *
     * @return the count of misses
     */
    public long l2CacheMisses() {
        return disk.l2Cache().misses();
    }

    private void checkWritableRange(long position, long length) throws IOException {
        checkOpen();
        if (position < 0 || length < 0) {
            throw new IllegalArgumentException("negative position or length: " + position + ", " + length);
        }
        if (!writable) {
            throw new Q2Exception(Q2Exception.Category.INVALID_ARGUMENT, "The image is open read-only");
        }
        if (length > disk.size() - position) {
            throw new Q2Exception(Q2Exception.Category.INVALID_ARGUMENT, "Request of " + length + " bytes at offset "
                    + position + " ends past the end of the disk (" + disk.size() + " bytes)");
        }
    }

    private void checkOpen() throws IOException {
        if (closed) {
            throw new java.nio.channels.ClosedChannelException();
        }
    }

    private void checkOpenUnchecked() {
        if (closed) {
            throw new IllegalStateException("image closed");
        }
    }

    boolean isClosed() {
        return closed;
    }

    /**
     * Flushes (when writable), closes the image and its backing chain, and releases the locks.
     *
     * @throws IOException when the final flush fails
     */
    @Override
    public void close() throws IOException {
        if (!closed) {
            closed = true;
            disk.close();
        }
    }
}
