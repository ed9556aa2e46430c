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
 * Maps every guest cluster of a new image to a host cluster, with QEMU's allocation order (preallocate_co and
 * qcow2_alloc_host_offset): per request, the L2 table first, then as many contiguous data clusters as that table
 * covers; a new L2 table breaks contiguity, so the next request starts after it. Data cluster entries get
 * OFLAG_COPIED and, with extended L2, an empty subcluster bitmap (as QEMU leaves it for preallocation).
 */
final class MetadataPreallocator {
    /** BDRV_REQUEST_MAX_BYTES: INT_MAX rounded down to whole 512-byte sectors. */
    private static final long REQUEST_MAX_BYTES = (Integer.MAX_VALUE >> 9) << 9;

    private final ImageFile file;
    private final RefcountAllocator refcounts;
    private final CreateSpec spec;
    private final long[] l1;
    private final long l1Offset;
    private final boolean dataFile;
    private final int entrySize;
    private final long l2Entries;
    private final long cs;

    private long currentL2Offset = -1;
    private ByteBuffer currentL2;

    MetadataPreallocator(ImageFile file, RefcountAllocator refcounts, CreateSpec spec, long[] l1, long l1Offset) {
        this.file = file;
        this.refcounts = refcounts;
        this.spec = spec;
        this.l1 = l1;
        this.l1Offset = l1Offset;
        this.dataFile = spec.dataFile() != null;
        this.entrySize = L2Geometry.entrySize(spec.extendedL2());
        this.cs = spec.clusterSize();
        this.l2Entries = cs / entrySize;
    }

    /**
     * Maps guest bytes [offset, end) (preallocate_co). Returns the end of the last data range mapped, which is how
     * far QEMU then extends the data file.
     */
    long preallocate(long offset, long end) throws IOException {
        long lastEnd = 0;
        long bytes = end - offset;
        while (bytes > 0) {
            long cur = Math.min(bytes, (Integer.MAX_VALUE / cs) * cs);
            long[] result = allocHostOffset(offset, cur);
            cur = result[1];
            lastEnd = result[0] + cur;
            bytes -= cur;
            offset += cur;
        }
        flushL2();
        return lastEnd;
    }

    /**
     * Bytes QEMU copies-on-write after a request that ends inside a cluster: up to the end of that cluster, or of
     * that subcluster with extended L2. There is no backing data at create time, so the copy is zeros.
     */
    long tailCowBytes(long end) {
        long unit = L2Geometry.subclusterSize(cs, spec.extendedL2());
        long rest = end % unit;
        return rest == 0 ? 0 : unit - rest;
    }

    /**
     * Enters already allocated, contiguous host clusters for guest clusters from {@code guestOffset} (the falloc
     * and full modes of qcow2_co_truncate), creating L2 tables as needed.
     */
    void linkRange(long guestOffset, long hostOffset, long nbClusters) throws IOException {
        while (nbClusters > 0) {
            long l2Index = (guestOffset / cs) & (l2Entries - 1);
            long n = Math.min(nbClusters, l2Entries - l2Index);
            getClusterTable(guestOffset);
            link(guestOffset, hostOffset, n);
            guestOffset += n * cs;
            hostOffset += n * cs;
            nbClusters -= n;
        }
        flushL2();
    }

    /** qcow2_alloc_host_offset: returns {host offset of the first byte, bytes mapped contiguously}. */
    private long[] allocHostOffset(long offset, long bytes) throws IOException {
        long start = offset;
        long remaining = bytes;
        long clusterOffset = -1;
        long hostOffset = -1;
        long cur = 0;
        while (true) {
            if (hostOffset == -1 && clusterOffset != -1) {
                hostOffset = clusterOffset;
            }
            start += cur;
            remaining -= cur;
            if (clusterOffset != -1) {
                clusterOffset += cur;
            }
            if (remaining == 0) {
                break;
            }
            cur = remaining;
            long[] r = handleAlloc(start, clusterOffset, cur);
            if (r == null) {
                break;
            }
            clusterOffset = r[0];
            cur = r[1];
        }
        return new long[] {hostOffset, bytes - remaining};
    }

    /** handle_alloc for fresh clusters: returns {host offset, bytes} or null if contiguity cannot continue. */
    private long[] handleAlloc(long guestOffset, long hostOffset, long bytes) throws IOException {
        long inCluster = guestOffset & (cs - 1);
        long nbClusters = (inCluster + bytes + cs - 1) / cs;
        long l2Index = (guestOffset / cs) & (l2Entries - 1);
        nbClusters = Math.min(nbClusters, l2Entries - l2Index);
        nbClusters = Math.min(nbClusters, REQUEST_MAX_BYTES / cs);
        getClusterTable(guestOffset);

        long alloc;
        if (dataFile) {
            alloc = guestOffset - inCluster;
        } else if (hostOffset == -1) {
            alloc = refcounts.allocClusters(nbClusters * cs);
        } else {
            alloc = hostOffset & ~(cs - 1);
            nbClusters = refcounts.allocClustersAt(alloc, nbClusters);
            if (nbClusters == 0) {
                return null;
            }
        }
        long requested = bytes + inCluster;
        long avail = nbClusters * cs;
        long nbBytes = Math.min(requested, avail);
        long mapped = Math.min(bytes, nbBytes - inCluster);
        link(guestOffset - inCluster, alloc, nbClusters);
        return new long[] {alloc + inCluster, mapped};
    }

    /** Makes sure the L2 table for a guest offset exists (get_cluster_table / l2_allocate). */
    private void getClusterTable(long guestOffset) throws IOException {
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

    private void link(long guestClusterOffset, long hostClusterOffset, long nbClusters) {
        int index = (int) ((guestClusterOffset / cs) & (l2Entries - 1));
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
