package dev.q2.create;

import dev.q2.format.L1Entry;
import dev.q2.format.L2Entry;
import dev.q2.format.L2Geometry;
import dev.q2.image.RefcountAllocator;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Maps every guest cluster of a new image to a host cluster, with QEMU's allocation order ({@link
 * PreallocationMapper}). A new image's L2 tables are all fresh: each is written empty before its L1 entry points at
 * it. Data cluster entries get OFLAG_COPIED and, with extended L2, an empty subcluster bitmap (as QEMU leaves it for
 * preallocation).
 */
final class MetadataPreallocator extends PreallocationMapper {
    private final ImageFile file;
    private final long[] l1;
    private final long l1Offset;
    private final int entrySize;

    private long currentL2Offset = -1;
    private ByteBuffer currentL2;

    MetadataPreallocator(ImageFile file, RefcountAllocator refcounts, CreateSpec spec, long[] l1, long l1Offset) {
        super(refcounts, spec.clusterSize(), spec.extendedL2(), spec.dataFile() != null);
        this.file = file;
        this.l1 = l1;
        this.l1Offset = l1Offset;
        this.entrySize = L2Geometry.entrySize(spec.extendedL2());
    }

    /**
     * Maps guest bytes [offset, end) (preallocate_co). Returns the end of the last data range mapped, which is how
     * far QEMU then extends the data file.
     */
    long preallocate(long offset, long end) throws IOException {
        long[] last = mapRange(offset, end);
        flushL2();
        return last[0] + last[1];
    }

    /**
     * Enters already allocated, contiguous host clusters for guest clusters from {@code guestOffset} (the falloc
     * and full modes of qcow2_co_truncate), creating L2 tables as needed.
     */
    void linkAll(long guestOffset, long hostOffset, long nbClusters) throws IOException {
        linkRange(guestOffset, hostOffset, nbClusters);
        flushL2();
    }

    /** Makes sure the L2 table for a guest offset exists (get_cluster_table / l2_allocate). */
    @Override
    protected void clusterTable(long guestOffset) throws IOException {
        int l1Index = (int) (guestOffset / (cs * l2Entries));
        if ((l1[l1Index] & L1Entry.OFLAG_COPIED) != 0) {
            selectL2(l1[l1Index] & L1Entry.OFFSET_MASK);
            return;
        }
        long l2Offset = refcounts.allocClusters(cs);
        refcounts.flush();
        flushL2();
        currentL2Offset = l2Offset;
        currentL2 = ByteBuffer.allocate((int) cs).order(ByteOrder.BIG_ENDIAN);
        flushL2(); // QEMU writes the new, empty table before the L1 entry points at it
        l1[l1Index] = l2Offset | L1Entry.OFLAG_COPIED;
        ByteBuffer e = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putLong(l1[l1Index]);
        e.flip();
        file.writeFully(l1Offset + l1Index * 8L, e);
    }

    private void selectL2(long offset) throws IOException {
        if (offset == currentL2Offset) {
            return;
        }
        flushL2();
        currentL2 = ByteBuffer.allocate((int) cs).order(ByteOrder.BIG_ENDIAN);
        file.readFully(offset, currentL2);
        currentL2.clear();
        currentL2Offset = offset;
    }

    @Override
    protected void link(long guestClusterOffset, long hostClusterOffset, long nbClusters) {
        int index = l2Index(guestClusterOffset);
        for (long i = 0; i < nbClusters; i++) {
            long entry = (hostClusterOffset + i * cs) | L2Entry.OFLAG_COPIED;
            currentL2.putLong((int) ((index + i) * entrySize), entry);
        }
    }

    private void flushL2() throws IOException {
        if (currentL2 != null) {
            ByteBuffer b = currentL2.duplicate();
            b.clear();
            file.writeFully(currentL2Offset, b);
        }
    }
}
