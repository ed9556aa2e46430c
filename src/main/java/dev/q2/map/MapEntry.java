package dev.q2.map;

/**
 * One extent of a map: a guest range, the depth in the backing chain it comes from, and what it holds. Mutable,
 * because the mapper grows the current extent while it merges and the human output rewrites the next one.
 */
public final class MapEntry {
    long start;
    long length;
    int depth;
    boolean present;
    boolean zero;
    boolean data;
    boolean hasOffset;
    long offset;
    /** The file the offset is in; null when there is no offset. */
    String filename;

    public long start() {
        return start;
    }

    public long length() {
        return length;
    }

    public int depth() {
        return depth;
    }

    public boolean present() {
        return present;
    }

    public boolean zero() {
        return zero;
    }

    public boolean data() {
        return data;
    }

    public boolean hasOffset() {
        return hasOffset;
    }

    public long offset() {
        return offset;
    }

    public String filename() {
        return filename;
    }

    void copyFrom(MapEntry o) {
        start = o.start;
        length = o.length;
        depth = o.depth;
        present = o.present;
        zero = o.zero;
        data = o.data;
        hasOffset = o.hasOffset;
        offset = o.offset;
        filename = o.filename;
    }

    /** Whether {@code next} continues this extent (qemu-img's rule: same kind, and contiguous in the file). */
    boolean mergeable(MapEntry next) {
        if (length == 0) {
            return false;
        }
        if (zero != next.zero || data != next.data || depth != next.depth || present != next.present
                || (filename == null) != (next.filename == null) || hasOffset != next.hasOffset) {
            return false;
        }
        if (filename != null && !filename.equals(next.filename)) {
            return false;
        }
        return !hasOffset || offset + length == next.offset;
    }
}
