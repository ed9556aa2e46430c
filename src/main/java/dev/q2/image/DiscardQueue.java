package dev.q2.image;

import dev.q2.io.ImageFile;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Host ranges whose clusters a free left unreferenced, queued to be discarded in the file together, as QEMU's qcow2
 * driver queues them (update_refcount_discard, then qcow2_process_discards): a range that touches a queued one
 * extends it, and queued ranges that then touch each other become one; they are punched in the order they were first
 * queued.
 *
 * <p>The merging matters beyond the bytes: punching a 2 GiB range in one call and punching it cluster by cluster
 * leave the same holes, but on ext4 the second splits the file's extents on the way, which can grow the extent
 * tree by a block that stays allocated (iotest 250: `du` one 4 KiB block apart from qemu-img resize --shrink).
 *
 * <p>Internal to q2 (public only because other q2 packages use it). Not thread-safe.
 */
public final class DiscardQueue {
    /** {offset, length} pairs in queue order. */
    private final List<long[]> ranges = new ArrayList<>();

    /**
     * Queues {@code [offset, offset + length)}, merged with the queued ranges it touches.
     *
     * @param offset host offset
     * @param length byte count (positive)
     */
    public void add(long offset, long length) {
        long[] into = null;
        for (long[] r : ranges) {
            long start = Math.min(offset, r[0]);
            long end = Math.max(offset + length, r[0] + r[1]);
            if (end - start <= length + r[1]) { // adjacent (freed ranges never overlap)
                r[0] = start;
                r[1] = end - start;
                into = r;
                break;
            }
        }
        if (into == null) {
            into = new long[] {offset, length};
            ranges.add(into);
        }
        // the grown range may now touch others: they join it (it keeps its place in the queue)
        for (int i = 0; i < ranges.size(); i++) {
            long[] p = ranges.get(i);
            if (p == into || p[0] > into[0] + into[1] || into[0] > p[0] + p[1]) {
                continue;
            }
            into[0] = Math.min(into[0], p[0]);
            into[1] += p[1];
            ranges.remove(i);
            i--;
        }
    }

    /** Whether nothing is queued. */
    public boolean isEmpty() {
        return ranges.isEmpty();
    }

    /** The queued {offset, length} ranges in the order they will be punched (copies). */
    public List<long[]> ranges() {
        List<long[]> out = new ArrayList<>(ranges.size());
        for (long[] r : ranges) {
            out.add(r.clone());
        }
        return out;
    }

    /**
     * Punches every queued range that lies in the file (cut at its end), in queue order, and empties the queue.
     * Where holes cannot be punched, {@code zerosIfNoHoles} decides whether zeros are written instead.
     *
     * @param file the image file
     * @param zerosIfNoHoles write zeros where a hole cannot be punched (else leave the bytes, as QEMU's optional
     *     discard does)
     * @throws IOException when the file cannot be written
     */
    public void punch(ImageFile file, boolean zerosIfNoHoles) throws IOException {
        long size = file.size();
        for (long[] r : ranges) {
            if (r[0] >= size) {
                continue;
            }
            long len = Math.min(r[1], size - r[0]);
            if (!file.punchHole(r[0], len) && zerosIfNoHoles) {
                for (long at = r[0]; at < r[0] + len; ) {
                    int n = (int) Math.min(1 << 20, r[0] + len - at);
                    file.writeFully(at, java.nio.ByteBuffer.allocate(n));
                    at += n;
                }
            }
        }
        ranges.clear();
    }
}
