package dev.q2;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Objects;

/** {@link Image#inputStream(long)}: sequential reads of the guest disk. Not thread-safe. */
final class GuestInputStream extends InputStream {
    private final Image image;
    private long position;
    private boolean closed;

    GuestInputStream(Image image, long position) {
        this.image = image;
        this.position = position;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        if (closed) {
            throw new IOException("Stream closed");
        }
        if (len == 0) {
            return 0;
        }
        int n = image.read(position, ByteBuffer.wrap(b, off, len));
        if (n > 0) {
            position += n;
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        if (closed) {
            throw new IOException("Stream closed");
        }
        long k = Math.max(0, Math.min(n, image.size() - position));
        position += k;
        return k;
    }

    @Override
    public int available() throws IOException {
        if (closed) {
            throw new IOException("Stream closed");
        }
        return (int) Math.min(Integer.MAX_VALUE, Math.max(0, image.size() - position));
    }

    @Override
    public void close() {
        closed = true;
    }
}
