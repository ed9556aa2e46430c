package dev.q2.image;

import dev.q2.format.CompressedDescriptor;
import dev.q2.format.L2Entry;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Seam: freeing what a replaced entry referenced (qcow2-refcount.c's qcow2_free_any_cluster), deferred to the end
 * of a flush so that the reference is gone from the disk before the refcount drops.
 */
final class DeferredFrees {
    private final DiskState disk;
    private final CompressedClusters compressed;
    /** Host byte ranges {offset, length} whose refcounts drop by one at the next flush. */
    private final List<long[]> pending = new ArrayList<>();

    DeferredFrees(DiskState disk, CompressedClusters compressed) {
        this.disk = disk;
        this.compressed = compressed;
    }

    void add(long hostOffset, long length) {
        pending.add(new long[] {hostOffset, length});
    }

    /** Drops the reference an old entry held once its replacement is on disk. */
    void freeEntry(long entry, L2Entry.Type type) {
        if (disk.externalData && type != L2Entry.Type.COMPRESSED) {
            return;
        }
        switch (type) {
            case NORMAL, ZERO_ALLOC -> {
                // QEMU does not free an unaligned cluster (it would drop the refcounts of two others): a leak
                if ((L2Entry.hostOffset(entry) & (disk.clusterSize - 1)) == 0) {
                    add(L2Entry.hostOffset(entry), disk.clusterSize);
                }
            }
            case COMPRESSED -> {
                CompressedDescriptor d = CompressedDescriptor.decode(entry, disk.clusterBits);
                long start = d.hostOffset() & ~511L;
                add(start, d.endOffset() - start);
                compressed.forget(d.hostOffset());
            }
            default -> {
            }
        }
    }

    /** How many ranges are pending (a mark for {@link #pendingSince}). */
    int pendingCount() {
        return pending.size();
    }

    /** A copy of the ranges added since {@code mark} ({@link #pendingCount}), still pending. */
    List<long[]> pendingSince(int mark) {
        return new ArrayList<>(pending.subList(mark, pending.size()));
    }

    boolean isEmpty() {
        return pending.isEmpty();
    }

    /** Decreases the refcounts of everything pending. */
    void apply() throws IOException {
        for (long[] range : pending) {
            disk.refcounts.addReferences(range[0], range[1], -1);
        }
        pending.clear();
    }
}
