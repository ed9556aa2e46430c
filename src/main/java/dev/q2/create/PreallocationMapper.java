package dev.q2.create;

import dev.q2.format.L2Geometry;
import dev.q2.image.RefcountAllocator;

import java.io.IOException;

/**
 * QEMU's order of allocation when it preallocates metadata (preallocate_co, qcow2_alloc_host_offset, handle_alloc
 * for fresh clusters), shared by create and resize: per request the L2 table first, then as many contiguous data
 * clusters as that table covers; a new L2 table breaks contiguity, so the next request starts after it. With an
 * external data file guest offsets map 1:1 and nothing is allocated for data.
 *
 * <p>Subclasses own the L2 tables: how the table of a guest offset is found or made, how entries are entered, and
 * when a table is written. A new image and one being resized differ there (a resize copies shared tables, frees
 * what an entry held and syncs between steps), so those steps stay with each caller. Not thread-safe.
 */
public abstract class PreallocationMapper {
    /** BDRV_REQUEST_MAX_BYTES: INT_MAX rounded down to whole 512-byte sectors. */
    private static final long REQUEST_MAX_BYTES = (Integer.MAX_VALUE >> 9) << 9;

    /** The image's refcounts, through which data clusters are allocated. */
    protected final RefcountAllocator refcounts;
    /** The cluster size in bytes. */
    protected final long cs;
    /** Entries per L2 table. */
    protected final long l2Entries;
    private final long subclusterSize;
    private final boolean dataFile;

    /**
     * A mapper over an image's refcounts.
     *
     * @param refcounts the image's refcount allocator
     * @param clusterSize the cluster size in bytes
     * @param extendedL2 whether L2 entries are extended
     * @param dataFile whether guest data lives in an external data file (mapped 1:1)
     */
    protected PreallocationMapper(RefcountAllocator refcounts, long clusterSize, boolean extendedL2,
                                  boolean dataFile) {
        this.refcounts = refcounts;
        this.cs = clusterSize;
        this.l2Entries = L2Geometry.entriesPerTable(clusterSize, extendedL2);
        this.subclusterSize = L2Geometry.subclusterSize(clusterSize, extendedL2);
        this.dataFile = dataFile;
    }

    /**
     * Makes sure the L2 table for a guest offset exists and is the current one (get_cluster_table).
     *
     * @param guestOffset the guest offset
     * @throws IOException when the image cannot be read or written
     */
    protected abstract void clusterTable(long guestOffset) throws IOException;

    /**
     * Enters {@code nbClusters} contiguous host clusters into the current L2 table.
     *
     * @param guestClusterOffset the guest offset of the first cluster
     * @param hostClusterOffset the host offset of the first cluster
     * @param nbClusters how many clusters, all in the current table
     * @throws IOException when the image cannot be read or written
     */
    protected abstract void link(long guestClusterOffset, long hostClusterOffset, long nbClusters) throws IOException;

    /**
     * Called when clusters were allocated whose data ends at {@code end}, before they are linked; nothing by default.
     *
     * @param end the end of the mapped data, in the file that holds it
     * @throws IOException when the file cannot be written
     */
    protected void allocated(long end) throws IOException {
    }

    /**
     * The copy-on-write of the head of a fresh cluster whose request starts inside it (perform_cow's start region,
     * before the L2 entry is written): its guest bytes [0, {@code bytes}) copied to the new cluster. Only a resize
     * from a size inside a cluster asks for it; nothing by default.
     *
     * @param guestClusterOffset the guest offset of the cluster
     * @param hostClusterOffset the new host cluster
     * @param bytes how many bytes of its head
     * @throws IOException when the image cannot be read or written
     */
    protected void cowHead(long guestClusterOffset, long hostClusterOffset, long bytes) throws IOException {
    }

    /**
     * preallocate_co's loop: maps guest bytes [offset, end) in requests of at most INT_MAX bytes. Does not write the
     * current L2 table.
     *
     * @param offset the first guest byte
     * @param end the guest byte after the last
     * @return {host offset, length} of the last contiguous run mapped ({0, 0} when nothing was)
     * @throws IOException when the image cannot be read or written
     */
    public final long[] mapRange(long offset, long end) throws IOException {
        return mapRange(offset, end, -1);
    }

    /**
     * {@link #mapRange(long, long)} where the cluster of {@code offset} may already be mapped in place (handle_copied:
     * an image grown from a size inside that cluster): {@code copiedHost} is the host offset of the byte at
     * {@code offset} then, and the first request goes on from there, contiguously if the clusters after it are free.
     *
     * @param offset the first guest byte
     * @param end the guest byte after the last
     * @param copiedHost the host offset of {@code offset} when its cluster is mapped in place, else -1
     * @return {host offset, length} of the last contiguous run mapped ({0, 0} when nothing was)
     * @throws IOException when the image cannot be read or written
     */
    public final long[] mapRange(long offset, long end, long copiedHost) throws IOException {
        long lastHost = 0;
        long lastBytes = 0;
        long bytes = end - offset;
        while (bytes > 0) {
            long cur = Math.min(bytes, (Integer.MAX_VALUE / cs) * cs);
            long[] r = allocHostOffset(offset, cur, copiedHost);
            copiedHost = -1;
            lastHost = r[0];
            lastBytes = r[1];
            bytes -= r[1];
            offset += r[1];
        }
        return new long[] {lastHost, lastBytes};
    }

    /**
     * Enters already allocated, contiguous host clusters for guest clusters from {@code guestOffset} (the falloc
     * and full modes of qcow2_co_truncate), table by table. Does not write the current L2 table.
     *
     * @param guestOffset the guest offset of the first cluster
     * @param hostOffset the host offset of the first cluster
     * @param nbClusters how many clusters
     * @throws IOException when the image cannot be read or written
     */
    public final void linkRange(long guestOffset, long hostOffset, long nbClusters) throws IOException {
        while (nbClusters > 0) {
            long n = Math.min(nbClusters, l2Entries - l2Index(guestOffset));
            clusterTable(guestOffset);
            link(guestOffset, hostOffset, n);
            guestOffset += n * cs;
            hostOffset += n * cs;
            nbClusters -= n;
        }
    }

    /**
     * Bytes QEMU copies-on-write after a request that ends inside a cluster: up to the end of that cluster, or of
     * that subcluster with extended L2. Nothing is allocated there yet, so the copy is zeros.
     *
     * @param end the guest byte after the request
     * @return the bytes from {@code end} to the end of its (sub)cluster, 0 when it ends on a boundary
     */
    public final long tailCowBytes(long end) {
        long rest = end % subclusterSize;
        return rest == 0 ? 0 : subclusterSize - rest;
    }

    /**
     * The index of a guest offset's entry in its L2 table.
     *
     * @param guestOffset the guest offset
     * @return the index
     */
    protected final int l2Index(long guestOffset) {
        return (int) ((guestOffset / cs) & (l2Entries - 1));
    }

    /** qcow2_alloc_host_offset: returns {host offset of the first byte, bytes mapped contiguously}. */
    private long[] allocHostOffset(long offset, long bytes, long copiedHost) throws IOException {
        long start = offset;
        long remaining = bytes;
        long clusterOffset = -1;
        long hostOffset = -1;
        long cur = 0;
        if (copiedHost >= 0) { // handle_copied: the rest of the first cluster is mapped already
            clusterOffset = copiedHost;
            cur = Math.min(remaining, cs - (offset & (cs - 1)));
        }
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
        nbClusters = Math.min(nbClusters, l2Entries - l2Index(guestOffset));
        nbClusters = Math.min(nbClusters, REQUEST_MAX_BYTES / cs);
        clusterTable(guestOffset);
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
        long avail = nbClusters * cs;
        long mapped = Math.min(bytes, Math.min(bytes + inCluster, avail) - inCluster);
        allocated(alloc + inCluster + mapped);
        if (inCluster > 0 && !dataFile) {
            cowHead(guestOffset - inCluster, alloc, inCluster);
        }
        link(guestOffset - inCluster, alloc, nbClusters);
        return new long[] {alloc + inCluster, mapped};
    }
}
