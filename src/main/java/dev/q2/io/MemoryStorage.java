package dev.q2.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * A {@link Storage} in memory: sparse (only the 64 KiB chunks written hold memory, so a large preallocated size costs
 * nothing), growable up to {@link Long#MAX_VALUE}. For tests, for images built or inspected without touching disk,
 * and as a model for an application's own storage.
 *
 * <p>{@link #close()} keeps the contents: the same storage can be opened again (create an image in memory, close
 * it, open it). Thread-safe: every method is synchronized.
 */
public final class MemoryStorage implements Storage {
    private static final int CHUNK_BITS = 16;
    private static final int CHUNK = 1 << CHUNK_BITS;

    private final Map<Long, byte[]> chunks = new HashMap<>();
    private long size;
    private final boolean writable;

    /** An empty, writable storage. */
    public MemoryStorage() {
        this(true);
    }

    private MemoryStorage(boolean writable) {
        this.writable = writable;
    }

    /**
     * A writable storage holding a copy of {@code bytes}.
     *
     * @param bytes the initial contents
     * @return the storage
     */
    public static MemoryStorage of(byte[] bytes) {
        MemoryStorage m = new MemoryStorage(true);
        m.put(0, ByteBuffer.wrap(bytes));
        return m;
    }

    /**
     * A writable storage holding a copy of a file (an image to inspect or change without touching the file).
     *
     * @param file the file to copy
     * @return the storage
     * @throws IOException when the file cannot be read
     */
    public static MemoryStorage copyOf(Path file) throws IOException {
        return of(Files.readAllBytes(file));
    }

    /**
     * A read-only view sharing this storage's contents: writes through it fail.
     *
     * @return the view
     */
    public Storage readOnlyView() {
        MemoryStorage self = this;
        return new Storage() {
            @Override
            public int read(long position, ByteBuffer dst) throws IOException {
                return self.read(position, dst);
            }

            @Override
            public int write(long position, ByteBuffer src) throws IOException {
                throw new IOException("read-only storage");
            }

            @Override
            public long size() {
                return self.size();
            }

            @Override
            public void setSize(long newSize) throws IOException {
                throw new IOException("read-only storage");
            }

            @Override
            public void flush() {
            }

            @Override
            public boolean writable() {
                return false;
            }

            @Override
            public void close() {
            }

            @Override
            public String name() {
                return self.name();
            }
        };
    }

    /**
     * A copy of the contents.
     *
     * @return the bytes
     * @throws IOException when the contents are larger than a Java array can hold
     */
    public synchronized byte[] toByteArray() throws IOException {
        if (size > Integer.MAX_VALUE - 8) {
            throw new IOException("memory storage of " + size + " bytes does not fit in an array");
        }
        ByteBuffer b = ByteBuffer.allocate((int) size);
        read(0, b);
        return b.array();
    }

    /**
     * Writes the contents to a file (to hand an image built in memory to qemu-img, or to keep it).
     *
     * @param file the file to write, replaced if it exists
     * @throws IOException when the file cannot be written
     */
    public void writeTo(Path file) throws IOException {
        Files.write(file, toByteArray());
    }

    private static void checkPosition(long position) throws IOException {
        if (position < 0) {
            throw new IOException("negative position " + position);
        }
    }

    @Override
    public synchronized int read(long position, ByteBuffer dst) throws IOException {
        checkPosition(position);
        if (position >= size) {
            return dst.hasRemaining() ? -1 : 0;
        }
        int n = (int) Math.min(dst.remaining(), size - position);
        long pos = position;
        int left = n;
        while (left > 0) {
            int in = (int) (pos & (CHUNK - 1));
            int len = Math.min(left, CHUNK - in);
            byte[] c = chunks.get(pos >>> CHUNK_BITS);
            if (c == null) {
                for (int i = 0; i < len; i++) {
                    dst.put((byte) 0);
                }
            } else {
                dst.put(c, in, len);
            }
            pos += len;
            left -= len;
        }
        return n;
    }

    @Override
    public synchronized int write(long position, ByteBuffer src) throws IOException {
        checkPosition(position);
        if (!writable) {
            throw new IOException("read-only storage");
        }
        if (position > Long.MAX_VALUE - src.remaining()) {
            throw new IOException("File too large");
        }
        return put(position, src);
    }

    private int put(long position, ByteBuffer src) {
        int n = src.remaining();
        long pos = position;
        while (src.hasRemaining()) {
            int in = (int) (pos & (CHUNK - 1));
            int len = Math.min(src.remaining(), CHUNK - in);
            chunks.computeIfAbsent(pos >>> CHUNK_BITS, k -> new byte[CHUNK]);
            src.get(chunks.get(pos >>> CHUNK_BITS), in, len);
            pos += len;
        }
        size = Math.max(size, position + n);
        return n;
    }

    @Override
    public synchronized long size() {
        return size;
    }

    @Override
    public synchronized void setSize(long newSize) throws IOException {
        checkPosition(newSize);
        if (!writable) {
            throw new IOException("read-only storage");
        }
        if (newSize < size) {
            chunks.keySet().removeIf(k -> (k << CHUNK_BITS) >= newSize);
            byte[] last = chunks.get(newSize >>> CHUNK_BITS);
            if (last != null) {
                java.util.Arrays.fill(last, (int) (newSize & (CHUNK - 1)), CHUNK, (byte) 0);
            }
        }
        size = newSize;
    }

    @Override
    public void flush() {
        // nothing to make durable
    }

    @Override
    public boolean writable() {
        return writable;
    }

    /** Does nothing: the contents stay, and the storage can be opened again. */
    @Override
    public void close() {
    }

    @Override
    public String name() {
        return "memory";
    }

    @Override
    public synchronized String toString() {
        return "MemoryStorage[" + size + " bytes]";
    }
}
