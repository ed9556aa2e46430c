package dev.q2.io;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A {@link Storage} over a file or a block device, through a {@link FileChannel}. Files opened for writing grow
 * sparsely. Safe for use by several threads (positioned {@code FileChannel} I/O is).
 */
public final class FileStorage implements Storage {
    private final Path path;
    private final FileChannel channel;
    private final RandomAccessFile raf; // only for writable files: FileChannel cannot grow a file sparsely

    private FileStorage(Path path, FileChannel channel, RandomAccessFile raf) {
        this.path = path;
        this.channel = channel;
        this.raf = raf;
    }

    /**
     * Opens an existing file for reading.
     *
     * @param path the file
     * @return the open storage; the caller closes it
     * @throws IOException when the file cannot be opened (a {@link NoSuchFileException} when it does not exist)
     */
    public static FileStorage openReadOnly(Path path) throws IOException {
        if (!Files.isRegularFile(path) && hasType(path, S_IFIFO)) {
            // QEMU would open it and wait for a writer, forever when the name came from an untrusted image
            throw new FileSystemException(path.toString(), null, "Is a named pipe (q2 does not open FIFOs)");
        }
        return new FileStorage(path, FileChannel.open(path, StandardOpenOption.READ), null);
    }

    /**
     * Opens an existing file (or block or character device) for reading and writing.
     *
     * @param path the file
     * @return the open storage; the caller closes it
     * @throws IOException when the file cannot be opened, does not exist or is a folder
     */
    public static FileStorage openReadWrite(Path path) throws IOException {
        if (!Files.isRegularFile(path)) {
            if (Files.isDirectory(path)) {
                throw new FileSystemException(path.toString(), null, "Is a directory");
            }
            if (!isBlockDevice(path) && !isCharacterDevice(path)) {
                throw new NoSuchFileException(path.toString());
            }
        }
        RandomAccessFile raf;
        try {
            raf = new RandomAccessFile(path.toFile(), "rw");
        } catch (FileNotFoundException e) {
            String m = String.valueOf(e.getMessage());
            if (m.endsWith("(Permission denied)")) {
                throw new AccessDeniedException(path.toString());
            }
            throw e;
        }
        return new FileStorage(path, raf.getChannel(), raf);
    }

    private static final int S_IFMT = 0170000;
    private static final int S_IFBLK = 0060000;
    private static final int S_IFIFO = 0010000;

    private static final int S_IFCHR = 0020000;

    private static boolean isBlockDevice(Path path) {
        return hasType(path, S_IFBLK);
    }

    /**
     * Whether {@code path} is a character device (/dev/null, /dev/zero: QEMU's host_device driver opens them).
     *
     * @param path the file
     * @return true for a character device; false otherwise or when it cannot be told
     */
    public static boolean isCharacterDevice(Path path) {
        return hasType(path, S_IFCHR);
    }

    /** Whether the file's type (st_mode & S_IFMT) is {@code type}; false when it cannot be told. */
    private static boolean hasType(Path path, int type) {
        try {
            return (((Integer) Files.getAttribute(path, "unix:mode")) & S_IFMT) == type;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * The file.
     *
     * @return the path this storage was opened with
     */
    public Path path() {
        return path;
    }

    /**
     * The file's channel, for QEMU's byte-range locks and for bulk copies.
     *
     * @return the channel
     */
    public FileChannel channel() {
        return channel;
    }

    @Override
    public boolean writable() {
        return raf != null;
    }

    @Override
    public int read(long position, ByteBuffer dst) throws IOException {
        return channel.read(dst, position);
    }

    @Override
    public int write(long position, ByteBuffer src) throws IOException {
        return channel.write(src, position);
    }

    @Override
    public long size() throws IOException {
        return channel.size();
    }

    @Override
    public void setSize(long size) throws IOException {
        if (raf == null) {
            throw new java.nio.channels.NonWritableChannelException();
        }
        raf.setLength(size);
    }

    /**
     * Deallocates {@code [offset, offset + length)} so that it reads as zeros (fallocate PUNCH_HOLE, KEEP_SIZE).
     *
     * @param offset where the range starts
     * @param length its length
     * @return false when the system cannot (no JNI helper, a file system without hole punching)
     * @throws IOException on an I/O error or a full device
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
            return true;
        }
        final int eNoSpc = 28;
        final int eIo = 5;
        if (r == -eNoSpc || r == -eIo) {
            throw new IOException(r == -eIo ? "Input/output error" : "No space left on device");
        }
        return false; // EOPNOTSUPP, EINVAL, EBUSY, ...: zeros must be written instead
    }

    /**
     * fdatasync, as QEMU's file driver flushes (qemu_fdatasync): the data and what is needed to read it back (the
     * length), without the times, which cost a journal commit of their own.
     */
    @Override
    public void flush() throws IOException {
        channel.force(false);
    }

    @Override
    public String name() {
        return path.toString();
    }

    @Override
    public void close() throws IOException {
        channel.close();
        if (raf != null) {
            raf.close();
        }
    }

    @Override
    public String toString() {
        return "FileStorage[" + path + "]";
    }
}
