package dev.q2.image;

import dev.q2.format.L2Entry;
import dev.q2.format.L2Geometry;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A view of one L2 table (or a slice of one) in memory: standard entries, or extended entries whose second word is
 * the subcluster bitmap.
 */
final class L2Table {
    private final ByteBuffer data;
    private final boolean extended;
    private final int entrySize;

    public L2Table(ByteBuffer data, boolean extended) {
        this.data = data.duplicate().order(ByteOrder.BIG_ENDIAN);
        this.extended = extended;
        this.entrySize = L2Geometry.entrySize(extended);
    }

    public int size() {
        return data.capacity() / entrySize;
    }

    public boolean extended() {
        return extended;
    }

    /** The 64-bit descriptor of entry {@code i}. */
    public long entry(int i) {
        return data.getLong(i * entrySize);
    }

    /** The subcluster bitmap of entry {@code i}; 0 for standard L2 tables. */
    public long bitmap(int i) {
        return extended ? data.getLong(i * entrySize + 8) : 0;
    }

    public void setEntry(int i, long value) {
        data.putLong(i * entrySize, value);
    }

    public void setBitmap(int i, long value) {
        if (!extended) {
            throw new IllegalStateException("standard L2 entries have no subcluster bitmap");
        }
        data.putLong(i * entrySize + 8, value);
    }

    public L2Entry.Type type(int i) {
        return L2Entry.type(entry(i), extended);
    }

    public ByteBuffer buffer() {
        return data.duplicate();
    }
}
