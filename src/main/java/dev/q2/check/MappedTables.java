package dev.q2.check;

import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads metadata clusters through memory mappings of the image file (in windows of {@value #WINDOW_BITS}-bit
 * size, mapped on first use), so that reading the thousands of scattered L2 tables and refcount blocks of a big
 * image costs page-cache lookups instead of one system call each. Bytes past the end of the file read as zeros, as
 * QEMU reads them. Only reads: the check never writes through a mapping.
 */
final class MappedTables {
    static final int WINDOW_BITS = 30;
    /**
     * Files smaller than this are read with plain positioned reads: mapping one makes JDK 18+ build the mapped
     * buffer through method-handle reflection (JEP 416), about 70 ms of a short check's start-up, while a small
     * image has few enough tables that reading them one by one costs less than that.
     */
    static final long MAP_THRESHOLD = 64L << 20;
    private static final long WINDOW = 1L << WINDOW_BITS;
    private static final int MAX_WINDOWS = 64;

    private final ImageFile file;
    private final long fileSize;
    private final Map<Long, MappedByteBuffer> windows = new LinkedHashMap<>(16, 0.75f, true);

    MappedTables(ImageFile file) throws IOException {
        this.file = file;
        this.fileSize = file.size();
    }

    /** Fills {@code dst} (position 0, its whole capacity) from {@code offset}; zeros past the end of the file. */
    void read(long offset, ByteBuffer dst) throws IOException {
        int len = dst.capacity();
        if (fileSize < MAP_THRESHOLD || file.channel() == null || offset < 0 || (offset >>> WINDOW_BITS) != ((offset + len - 1) >>> WINDOW_BITS)
                || offset + len > fileSize) {
            dst.clear();
            file.readZeroFilled(offset, dst); // small file, or crosses a window or the end of the file
            dst.clear();
            return;
        }
        MappedByteBuffer w = window(offset >>> WINDOW_BITS);
        dst.clear();
        dst.put(0, w, (int) (offset & (WINDOW - 1)), len);
    }

    private MappedByteBuffer window(long index) throws IOException {
        MappedByteBuffer w = windows.get(index);
        if (w == null) {
            long start = index << WINDOW_BITS;
            long size = Math.min(WINDOW, fileSize - start);
            w = file.channel().map(FileChannel.MapMode.READ_ONLY, start, size);
            w.order(ByteOrder.BIG_ENDIAN);
            windows.put(index, w);
            if (windows.size() > MAX_WINDOWS) {
                var it = windows.entrySet().iterator();
                it.next();
                it.remove(); // unmapped when collected
            }
        }
        return w;
    }
}
