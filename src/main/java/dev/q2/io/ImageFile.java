package dev.q2.io;

import java.io.EOFException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
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

    /** Opens an existing file (or block device) for reading and writing. */
    public static ImageFile openReadWrite(Path path) throws IOException {
        if (!Files.isRegularFile(path)) {
            if (Files.isDirectory(path)) {
                throw new FileSystemException(path.toString(), null, "Is a directory");
            }
            if (!isBlockDevice(path)) {
                throw new NoSuchFileException(path.toString());
            }
        }
        RandomAccessFile raf;
        try {
            raf = new RandomAccessFile(path.toFile(), "rw");
        } catch (java.io.FileNotFoundException e) {
            String m = String.valueOf(e.getMessage());
            if (m.endsWith("(Permission denied)")) {
                throw new java.nio.file.AccessDeniedException(path.toString());
            }
            throw e;
        }
        return new ImageFile(path, raf.getChannel(), raf);
    }

    private static boolean isBlockDevice(Path path) {
        final int sIfMt = 0170000;
        final int sIfBlk = 0060000;
        try {
            return (((Integer) Files.getAttribute(path, "unix:mode")) & sIfMt) == sIfBlk;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
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

    /**
     * Makes {@code [offset, offset + length)} read as zeros by deallocating it (fallocate PUNCH_HOLE, KEEP_SIZE), as
     * QEMU's file-posix driver writes zeros that may be unmapped. False when the system cannot (no JNI helper, or a
     * file system without hole punching); the caller then writes zeros.
     */
    public boolean punchHole(long offset, long length) throws IOException {
        if (raf == null || length <= 0 || !NativeFiles.available()) {
            return false;
        }
        int r;
        try {
            r = NativeFiles.punchHole(raf.getFD(), offset, length);
        } catch (UnsatisfiedLinkError e) {
            return false; // a helper library older than this class
        }
        if (r == 0) {
            bytesWritten += length;
            return true;
        }
        final int eNoSpc = 28;
        final int eIo = 5;
        if (r == -eNoSpc || r == -eIo) {
            throw new IOException(r == -eIo ? "Input/output error" : "No space left on device");
        }
        return false; // EOPNOTSUPP, EINVAL, EBUSY, ...: zeros must be written instead
    }

    public void flush() throws IOException {
        channel.force(true);
        java.util.function.Consumer<Path> hook = syncHook;
        if (hook != null) {
            hook.accept(path);
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
        channel.close();
        if (raf != null) {
            raf.close();
        }
    }
}
