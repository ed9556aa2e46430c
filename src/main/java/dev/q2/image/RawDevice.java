package dev.q2.image;

import dev.q2.io.ImageFile;
import dev.q2.io.NativeFiles;

import java.io.IOException;
import java.nio.ByteBuffer;

/** A raw image file as a read-only disk (a raw backing file, or the source of a convert). */
final class RawDevice implements BlockDevice {
    private final ImageFile file;
    private final long size;
    private final int fd; // for lseek(SEEK_DATA/SEEK_HOLE) through the JNI helper; -1 without it

    public RawDevice(ImageFile file) throws IOException {
        this.file = file;
        this.size = file.size();
        this.fd = NativeFiles.available() ? NativeFiles.open(file.path()) : -1;
    }

    /**
     * Holes of a sparse file read as zeros (the engine's zero check of a raw backing file); without the JNI helper
     * everything counts as data.
     */
    @Override
    public Layered layerStatus(long offset, long length) {
        if (fd < 0 || offset >= size) {
            return new Layered(length, offset >= size ? Kind.ZERO : Kind.DATA);
        }
        long data = NativeFiles.seekData(fd, offset);
        if (data == -NativeFiles.ENXIO) {
            return new Layered(length, Kind.ZERO); // only a hole up to the end of the file
        }
        if (data < 0) {
            return new Layered(length, Kind.DATA);
        }
        if (data > offset) {
            return new Layered(Math.min(length, data - offset), Kind.ZERO);
        }
        long hole = NativeFiles.seekHole(fd, offset);
        long end = hole < 0 ? offset + length : Math.min(offset + length, hole);
        return new Layered(Math.max(1, end - offset), Kind.DATA);
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
    public void close() throws IOException {
        if (fd >= 0) {
            NativeFiles.close(fd);
        }
        file.close();
    }
}
