package dev.q2.image;

import dev.q2.format.CompressedDescriptor;
import dev.q2.format.L2Entry;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Seam: freeing what a replaced entry referenced (qcow2-refcount.c's qcow2_free_any_cluster). As in QEMU, the
 * refcount drops at once, so a later allocation finds the cluster free again (update_refcount lowers
 * free_cluster_index); the decrease is held back from the disk until the reference is gone from it (the next flush,
 * or earlier when a held cluster is allocated again: {@link RefcountAllocator#freeHeld}).
 *
 * <p>While a guest discard or zero write collects ({@link #collect}), the ranges freed are kept, so that the
 * clusters whose refcount reached 0 can be discarded in the file at the end of the request, as QEMU's
 * qcow2_process_discards does for QCOW2_DISCARD_REQUEST.
 */
final class DeferredFrees {
    private final DiskState disk;
    private final CompressedClusters compressed;
    /** Host byte ranges {offset, length} freed since {@link #collect}; null when not collecting. */
    private List<long[]> collected;

    DeferredFrees(DiskState disk, CompressedClusters compressed) {
        this.disk = disk;
        this.compressed = compressed;
    }

    /** Frees a range not passed down to the file (QEMU's QCOW2_DISCARD_NEVER and _OTHER). */
    void add(long hostOffset, long length) throws IOException {
        add(hostOffset, length, false);
    }

    /** Frees a range; {@code request}: a guest discard's (QCOW2_DISCARD_REQUEST), passed down to the file. */
    void add(long hostOffset, long length, boolean request) throws IOException {
        disk.refcounts.freeHeld(hostOffset, length);
        if (request && collected != null) {
            collected.add(new long[] {hostOffset, length});
        }
    }

    /**
     * Drops the reference an old entry held (its replacement is in the L2 cache); {@code request}: for a guest
     * discard or zero write (QCOW2_DISCARD_REQUEST), not a copy-on-write (QCOW2_DISCARD_NEVER).
     */
    void freeEntry(long entry, L2Entry.Type type, boolean request) throws IOException {
        if (disk.externalData && type != L2Entry.Type.COMPRESSED) {
            return;
        }
        switch (type) {
            case NORMAL, ZERO_ALLOC -> {
                // QEMU does not free an unaligned cluster (it would drop the refcounts of two others): a leak
                if ((L2Entry.hostOffset(entry) & (disk.clusterSize - 1)) == 0) {
                    add(L2Entry.hostOffset(entry), disk.clusterSize, request);
                }
            }
            case COMPRESSED -> {
                CompressedDescriptor d = CompressedDescriptor.decode(entry, disk.clusterBits);
                long start = d.hostOffset() & ~511L;
                compressed.forget(d.hostOffset());
                add(start, d.endOffset() - start, request);
            }
            default -> {
            }
        }
    }

    /** Starts keeping the ranges freed (a discard request begins). */
    void collect() {
        collected = new ArrayList<>();
    }

    /** The ranges freed since {@link #collect}; stops keeping them. */
    List<long[]> collected() {
        List<long[]> out = collected == null ? List.of() : collected;
        collected = null;
        return out;
    }

    boolean isEmpty() {
        return !disk.refcounts.hasHolds();
    }

    /** The references dropped are on disk: the held refcount decreases may follow them. */
    void apply() {
        disk.refcounts.releaseHolds();
    }
}
