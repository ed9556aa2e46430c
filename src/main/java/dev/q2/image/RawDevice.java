package dev.q2.image;

import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;

/** A raw image file as a read-only disk (a raw backing file, or the source of a convert). */
public final class RawDevice implements BlockDevice {
    private final ImageFile file;
    private final long size;

    public RawDevice(ImageFile file) throws IOException {
        this.file = file;
        this.size = file.size();
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
        file.close();
    }
}
