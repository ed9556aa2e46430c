package dev.q2.convert;

import dev.q2.io.ImageFile;
import dev.q2.io.LockedFile;
import dev.q2.io.QemuLock;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * An existing raw file or block device opened as the target of qemu-img convert -n. It is locked as qemu-img locks
 * a convert target: consistent read and write used, everything shared (so a writer that shares, such as qemu-io,
 * does not stop it, but a reader that refuses to share writes, such as the source of a running qemu-img convert,
 * does). Zeros are written as QEMU's file-posix driver writes zeros that may be unmapped: a punched hole that
 * keeps the file's size, or zeros where holes cannot be punched.
 */
public final class RawTarget implements AutoCloseable, dev.q2.image.GuestWriter, dev.q2.image.GuestWriter.Zeroes {
    private static final int ZEROS = 1 << 20;

    private final LockedFile raw;
    private final ImageFile file;
    private ByteBuffer zeros;

    private RawTarget(LockedFile raw) {
        this.raw = raw;
        this.file = raw.file();
    }

    /**
     * Opens and locks {@code path} for writing.
     *
     * @throws QemuLock.LockConflictException when another process refuses to share writes
     * @throws java.nio.file.NoSuchFileException when it does not exist
     */
    public static RawTarget open(Path path) throws IOException {
        return new RawTarget(LockedFile.open(path, true, QemuLock.PERM_CONSISTENT_READ | QemuLock.PERM_WRITE,
                QemuLock.PERM_ALL));
    }

    /** The file's size in bytes (a block device's size for a device). */
    public long size() throws IOException {
        return file.size();
    }

    /** Writes the buffer's remaining bytes at {@code offset}; a write past the end grows a file. */
    @Override
    public void write(long offset, ByteBuffer data) throws IOException {
        file.writeFully(offset, data);
    }

    /**
     * Makes {@code [offset, offset + length)} read as zeros, unmapping it where the system can. Like a punched hole,
     * zeros written instead stop at the end of the file: what lies past it reads as zeros already.
     */
    @Override
    public void writeZeroes(long offset, long length) throws IOException {
        if (file.punchHole(offset, length)) {
            return;
        }
        long end = Math.min(offset + length, file.size());
        if (zeros == null && end > offset) {
            zeros = ByteBuffer.allocateDirect(ZEROS);
        }
        for (long at = offset; at < end; ) {
            int n = (int) Math.min(ZEROS, end - at);
            file.writeFully(at, zeros.clear().limit(n));
            at += n;
        }
    }

    /** Makes what was written durable (fsync). */
    void flush() throws IOException {
        file.flush();
    }

    @Override
    public void close() throws IOException {
        raw.close();
    }
}
