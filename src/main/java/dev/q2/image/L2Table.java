package dev.q2.image;

import dev.q2.format.L2Entry;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A view of one L2 table (or a slice of one) in memory: standard entries, or extended entries whose second word is
 * the subcluster bitmap.
 */
public final class L2Table {
    private final ByteBuffer data;
    private final boolean extended;

    public L2Table(ByteBuffer data, boolean extended) {
        this.data = data.duplicate().order(ByteOrder.BIG_ENDIAN);
        this.extended = extended;
    }

    public int size() {
        return data.capacity() / (extended ? 16 : 8);
    }

    public boolean extended() {
        return extended;
    }

    /** The 64-bit descriptor of entry {@code i}. */
    public long entry(int i) {
        return data.getLong(i * (extended ? 16 : 8));
    }

    /** The subcluster bitmap of entry {@code i}; 0 for standard L2 tables. */
    public long bitmap(int i) {
        return extended ? data.getLong(i * 16 + 8) : 0;
    }

    public void setEntry(int i, long value) {
        data.putLong(i * (extended ? 16 : 8), value);
    }

    public void setBitmap(int i, long value) {
        if (!extended) {
            throw new IllegalStateException("standard L2 entries have no subcluster bitmap");
        }
        data.putLong(i * 16 + 8, value);
    }

    public L2Entry.Type type(int i) {
        return L2Entry.type(entry(i), extended);
    }

    public ByteBuffer buffer() {
        return data.duplicate();
    }
}
