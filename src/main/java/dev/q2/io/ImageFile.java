package dev.q2.io;

import java.io.EOFException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Positioned reads and writes over one file. Reads past the end of the file are errors unless the caller asks for
 * zero fill, so that a table pointing outside the file is noticed instead of read as zeros.
 */
public final class ImageFile implements AutoCloseable {
    private final Path path;
    private final FileChannel channel;
    private final RandomAccessFile raf; // only for writable files: FileChannel cannot grow a file sparsely
    private long bytesWritten;
    private long bytesRead;

    private ImageFile(Path path, FileChannel channel, RandomAccessFile raf) {
        this.path = path;
        this.channel = channel;
        this.raf = raf;
    }

    public static ImageFile openReadOnly(Path path) throws IOException {
        return new ImageFile(path, FileChannel.open(path, StandardOpenOption.READ), null);
    }

    /** Opens an existing file for reading and writing. */
    public static ImageFile openReadWrite(Path path) throws IOException {
        if (!Files.isRegularFile(path)) {
            throw new NoSuchFileException(path.toString());
        }
        RandomAccessFile raf = new RandomAccessFile(path.toFile(), "rw");
        return new ImageFile(path, raf.getChannel(), raf);
    }

    public Path path() {
        return path;
    }

    public FileChannel channel() {
        return channel;
    }

    public boolean writable() {
        return raf != null;
    }

    public long size() throws IOException {
        return channel.size();
    }

    /** Fills {@code dst} from {@code position}; fails if the file ends first. */
    public void readFully(long position, ByteBuffer dst) throws IOException {
        bytesRead += dst.remaining();
        long pos = position;
        while (dst.hasRemaining()) {
            int n = channel.read(dst, pos);
            if (n < 0) {
                throw new EOFException(String.format("read at offset %d runs past the end of %s", pos, path));
            }
            pos += n;
        }
    }

    /** Fills {@code dst} from {@code position}, with zeros for the part past the end of the file. */
    public void readZeroFilled(long position, ByteBuffer dst) throws IOException {
        bytesRead += dst.remaining();
        long pos = position;
        while (dst.hasRemaining()) {
            int n = channel.read(dst, pos);
            if (n < 0) {
                while (dst.hasRemaining()) {
                    dst.put((byte) 0);
                }
                return;
            }
            pos += n;
        }
    }

    public void writeFully(long position, ByteBuffer src) throws IOException {
        bytesWritten += src.remaining();
        long pos = position;
        while (src.hasRemaining()) {
            pos += channel.write(src, pos);
        }
    }

    /** Bytes written through this handle so far (data and metadata alike). */
    public long bytesWritten() {
        return bytesWritten;
    }

    /** Bytes read through this handle so far. */
    public long bytesRead() {
        return bytesRead;
    }

    /** Sets the file's length, growing it sparsely or cutting it (ftruncate). */
    public void setLength(long size) throws IOException {
        raf.setLength(size);
    }

    public void flush() throws IOException {
        channel.force(true);
    }

    @Override
    public void close() throws IOException {
        channel.close();
        if (raf != null) {
            raf.close();
        }
    }
}
