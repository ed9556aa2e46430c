package dev.q2.guestio;

import dev.q2.image.Qcow2Disk;
import dev.q2.io.ImageFile;
import dev.q2.io.LockedFile;
import dev.q2.io.QemuLock;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * A raw file as qemu-io's raw format over the file protocol sees it: the guest size is the file's size rounded up
 * to whole sectors (reads past the end of the file give zeros, writes there grow it), zero writes with unmap and
 * discards punch holes where the file system can (zeros are written otherwise), and QEMU's locks are taken.
 */
public final class RawGuestDisk implements GuestDisk {
    private final LockedFile raw;
    private final ImageFile file;
    private final long size;
    /** A character device (/dev/null, /dev/zero): no fsync (EINVAL there; QEMU's flush of it reports nothing). */
    private final boolean characterDevice;

    private RawGuestDisk(LockedFile raw, boolean characterDevice) throws IOException {
        this.raw = raw;
        this.file = raw.file();
        this.size = (file.size() + 511) & ~511L;
        this.characterDevice = characterDevice;
    }

    /** Opens {@code path} read-write, or read-only; {@code forceShare} (read-only only) takes no locks. */
    public static RawGuestDisk open(Path path, boolean readOnly, boolean forceShare) throws IOException {
        LockedFile raw;
        boolean characterDevice = dev.q2.io.FileStorage.isCharacterDevice(path);
        if (characterDevice) {
            // (host_device over /dev/null, /dev/zero: a stream of no length, nothing a lock could keep consistent)
            raw = LockedFile.openUnlocked(path, !readOnly);
        } else if (!readOnly) {
            raw = LockedFile.open(path, true, QemuLock.PERM_CONSISTENT_READ | QemuLock.PERM_WRITE,
                    QemuLock.PERM_CONSISTENT_READ | QemuLock.PERM_WRITE_UNCHANGED);
        } else if (!forceShare) {
            raw = LockedFile.open(path, false, QemuLock.PERM_CONSISTENT_READ,
                    QemuLock.PERM_CONSISTENT_READ | QemuLock.PERM_WRITE_UNCHANGED);
        } else {
            raw = LockedFile.openUnlocked(path);
        }
        try {
            return new RawGuestDisk(raw, characterDevice);
        } catch (IOException e) {
            raw.close();
            throw e;
        }
    }

    @Override
    public String format() {
        return "raw";
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        file.readZeroFilled(offset, dst);
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        file.writeFully(offset, src);
    }

    @Override
    public void writeZeroes(long offset, long length, boolean unmap) throws IOException {
        if (length <= 0) {
            return;
        }
        long end = Math.min(offset + length, file.size());
        // past the end of the file the bytes read as zeros already; QEMU's file driver grows the file there
        if (!(unmap && end > offset && file.punchHole(offset, end - offset))) {
            writeZeros(offset, end);
        }
        if (offset + length > file.size()) {
            file.setLength(offset + length);
        }
    }

    private void writeZeros(long from, long to) throws IOException {
        ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(1 << 20, Math.max(0, to - from)));
        for (long pos = from; pos < to; pos += zeros.capacity()) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), to - pos));
            file.writeFully(pos, zeros);
        }
    }

    @Override
    public void discard(long offset, long length) throws IOException {
        long end = Math.min(offset + length, file.size());
        // QEMU's file driver punches a hole; where that cannot be done here, zeros give the same reads
        if (end > offset && !file.punchHole(offset, end - offset)) {
            writeZeros(offset, end);
        }
    }

    @Override
    public void flush() throws IOException {
        if (!characterDevice) {
            file.flush();
        }
    }

    @Override
    public Qcow2Disk qcow2() {
        return null;
    }

    @Override
    public void close() throws IOException {
        raw.close();
    }
}
