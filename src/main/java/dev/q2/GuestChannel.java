package dev.q2;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.SeekableByteChannel;

/** {@link Image#channel(boolean)}: a cursor over the guest disk. Not thread-safe. */
final class GuestChannel implements SeekableByteChannel {
    private final Image image;
    private final boolean writable;
    private long position;
    private boolean open = true;

    GuestChannel(Image image, boolean writable) {
        this.image = image;
        this.writable = writable;
    }

    private void ensureOpen() throws ClosedChannelException {
        if (!open || image.isClosed()) {
            throw new ClosedChannelException();
        }
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        ensureOpen();
        int n = image.read(position, dst);
        if (n > 0) {
            position += n;
        }
        return n;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        ensureOpen();
        if (!writable) {
            throw new NonWritableChannelException();
        }
        int n = image.write(position, src);
        position += n;
        return n;
    }

    @Override
    public long position() throws IOException {
        ensureOpen();
        return position;
    }

    @Override
    public SeekableByteChannel position(long newPosition) throws IOException {
        ensureOpen();
        if (newPosition < 0) {
            throw new IllegalArgumentException("negative position " + newPosition);
        }
        position = newPosition;
        return this;
    }

    @Override
    public long size() throws IOException {
        ensureOpen();
        return image.size();
    }

    @Override
    public SeekableByteChannel truncate(long size) throws IOException {
        ensureOpen();
        if (!writable) {
            throw new NonWritableChannelException();
        }
        if (size < 0) {
            throw new IllegalArgumentException("negative size " + size);
        }
        if (size < image.size()) {
            throw new UnsupportedOperationException("a guest disk cannot be truncated through its channel");
        }
        position = Math.min(position, size);
        return this;
    }

    @Override
    public boolean isOpen() {
        return open && !image.isClosed();
    }

    @Override
    public void close() {
        open = false;
    }
}
