package dev.q2.cache;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An LRU cache of L2 table slices keyed by host offset. A slice is {@code entrySize} bytes of one table (the whole
 * table by default, as QEMU's l2-cache-entry-size defaults to the cluster size). Capacity is in bytes and rounded
 * down to whole slices, with at least two. Hit, miss and byte counters let callers measure what the cache buys.
 */
public final class L2Cache {
    /** Reads a slice from the image into the given buffer. */
    @FunctionalInterface
    public interface Loader {
        void load(long hostOffset, ByteBuffer into) throws IOException;
    }

    /** Writes a changed slice back. */
    @FunctionalInterface
    public interface Writer {
        void write(long hostOffset, ByteBuffer from) throws IOException;
    }

    private final int sliceSize;
    private final int capacitySlices;
    private final Loader loader;
    private final Writer writer;
    private final LinkedHashMap<Long, Slice> slices;
    private long hits;
    private long misses;
    private long bytesRead;

    private static final class Slice {
        final ByteBuffer data;
        boolean dirty;

        Slice(ByteBuffer data) {
            this.data = data;
        }
    }

    public L2Cache(long capacityBytes, int sliceSize, Loader loader, Writer writer) {
        if (sliceSize <= 0 || Integer.bitCount(sliceSize) != 1) {
            throw new IllegalArgumentException("L2 cache entry size must be a power of two: " + sliceSize);
        }
        this.sliceSize = sliceSize;
        // At least two entries, as QEMU (MIN_L2_CACHE_SIZE): copying a table needs the old and the new one at once.
        this.capacitySlices = (int) Math.max(2, Math.min(Integer.MAX_VALUE, capacityBytes / sliceSize));
        this.loader = loader;
        this.writer = writer;
        this.slices = new LinkedHashMap<>(16, 0.75f, true);
    }

    public int sliceSize() {
        return sliceSize;
    }

    public long capacityBytes() {
        return (long) capacitySlices * sliceSize;
    }

    /** The slice starting at {@code sliceOffset} (a multiple of the slice size), loaded on a miss. */
    public ByteBuffer get(long sliceOffset) throws IOException {
        Slice s = slices.get(sliceOffset);
        if (s != null) {
            hits++;
            return s.data;
        }
        misses++;
        ByteBuffer b = ByteBuffer.allocate(sliceSize);
        loader.load(sliceOffset, b);
        b.clear();
        bytesRead += sliceSize;
        put(sliceOffset, new Slice(b));
        return b;
    }

    /** Puts a slice that is new (no read needed), e.g. a freshly allocated table; marks it dirty. */
    public ByteBuffer getEmpty(long sliceOffset) throws IOException {
        Slice s = slices.get(sliceOffset);
        if (s == null) {
            s = new Slice(ByteBuffer.allocate(sliceSize));
            put(sliceOffset, s);
        }
        s.dirty = true;
        return s.data;
    }

    public void markDirty(long sliceOffset) {
        Slice s = slices.get(sliceOffset);
        if (s != null) {
            s.dirty = true;
        }
    }

    private void put(long offset, Slice s) throws IOException {
        while (slices.size() >= capacitySlices) {
            Map.Entry<Long, Slice> eldest = slices.entrySet().iterator().next();
            writeBack(eldest.getKey(), eldest.getValue());
            slices.remove(eldest.getKey());
        }
        slices.put(offset, s);
    }

    private void writeBack(long offset, Slice s) throws IOException {
        if (s.dirty) {
            ByteBuffer d = s.data.duplicate();
            d.clear();
            writer.write(offset, d);
            s.dirty = false;
        }
    }

    /** Writes every dirty slice. */
    public void flush() throws IOException {
        for (Map.Entry<Long, Slice> e : slices.entrySet()) {
            writeBack(e.getKey(), e.getValue());
        }
    }

    /** Drops a slice without writing it (its table was freed). */
    public void discard(long sliceOffset) {
        slices.remove(sliceOffset);
    }

    public long hits() {
        return hits;
    }

    public long misses() {
        return misses;
    }

    public long bytesRead() {
        return bytesRead;
    }

    public void resetCounters() {
        hits = 0;
        misses = 0;
        bytesRead = 0;
    }
}
