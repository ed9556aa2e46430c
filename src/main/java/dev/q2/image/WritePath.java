package dev.q2.image;

import dev.q2.format.L2Corruption;
import dev.q2.format.L2Entry;
import dev.q2.format.SubclusterBitmap;
import dev.q2.format.SubclusterType;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Seam: the write path (qcow2.c's qcow2_co_pwritev_part, qcow2-cluster.c's qcow2_alloc_host_offset and
 * perform_cow): writes in place where the cluster is ours (OFLAG_COPIED), otherwise a new cluster with the old
 * content copied around the new data (copy-on-write, per subcluster with extended L2), and runs of fresh clusters
 * allocated together. Guest data is written before the L2 entry that points at it.
 */
final class WritePath {
    /** The most guest bytes of fresh clusters written with one system call. */
    private static final long MAX_FRESH_RUN = 8L << 20;

    private final DiskState disk;
    private final ClusterMapper mapper;
    private final ReadPath reads;
    private final CompressedClusters compressed;
    private final DeferredFrees frees;
    private final BlockStatusReader status;

    WritePath(DiskState disk, ClusterMapper mapper, ReadPath reads, CompressedClusters compressed,
              DeferredFrees frees, BlockStatusReader status) {
        this.disk = disk;
        this.mapper = mapper;
        this.reads = reads;
        this.compressed = compressed;
        this.frees = frees;
        this.status = status;
    }

    void write(long offset, ByteBuffer src) throws IOException {
        if (disk.crypto != null && ((offset | src.remaining()) & 511) != 0) {
            // encrypted data is written in whole sectors: QEMU's block layer reads around an unaligned request
            src = alignedForCrypto(offset, src);
            offset &= ~511L;
        }
        disk.beginModification(offset, src.remaining());
        disk.header.markDirtyIfLazy();
        disk.stats.guestBytesWritten += src.remaining();
        writeGuest(offset, src);
    }

    /** The sectors an unaligned write touches, read as they are now, with the write's bytes over them. */
    private ByteBuffer alignedForCrypto(long offset, ByteBuffer src) throws IOException {
        long start = offset & ~511L;
        long end = (offset + src.remaining() + 511) & ~511L;
        byte[] buf = new byte[(int) (end - start)];
        reads.read(start, ByteBuffer.wrap(buf));
        src.duplicate().get(buf, (int) (offset - start), src.remaining());
        return ByteBuffer.wrap(buf);
    }

    /** Writes guest bytes without counting them as guest writes (zeros written for a zero write). */
    void writeZeroBytes(long offset, long length) throws IOException {
        long guestBefore = disk.stats.guestBytesWritten;
        write(offset, ByteBuffer.allocate((int) length));
        disk.stats.guestBytesWritten = guestBefore;
    }

    /**
     * The write as QEMU's qcow2_alloc_host_offset cuts it: the clusters that need a new host cluster are allocated
     * a run at a time (within one L2 slice), and a run continues the host range of what the request wrote before it
     * (in place or newly allocated) as far as the clusters there are free (qcow2_alloc_clusters_at); where nothing
     * there is free, the run is allocated anew from the free-cluster cursor.
     */
    private void writeGuest(long offset, ByteBuffer src) throws IOException {
        long clusterSize = disk.clusterSize;
        if (disk.extendedL2) {
            refuseInvalidEntries(offset, src.remaining());
        }
        long pos = offset;
        long nextHost = -1; // where the host range written so far ends; -1: nothing to continue
        while (src.hasRemaining()) {
            long clusterIndex = disk.clusterIndex(pos);
            int inCluster = disk.offsetInCluster(pos);
            int run = newAllocationRun(clusterIndex, inCluster, src.remaining());
            if (run == 0) {
                int n = (int) Math.min(src.remaining(), clusterSize - inCluster);
                ByteBuffer part = src.slice();
                part.limit(n);
                writeInCluster(clusterIndex, inCluster, inCluster + n, part, -1);
                src.position(src.position() + n);
                pos += n;
                if (!disk.externalData) {
                    nextHost = L2Entry.hostOffset(mapper.lookup(clusterIndex).entry()) + clusterSize;
                }
                continue;
            }
            mapper.writableL2(clusterIndex); // the table first, then the data clusters, as QEMU
            long host = -1;
            if (nextHost >= 0) {
                long n = disk.refcounts.allocClustersAt(nextHost, run);
                if (n > 0) {
                    host = nextHost;
                    run = (int) n;
                }
            }
            if (host < 0) {
                host = disk.refcounts.allocClusters((long) run << disk.clusterBits);
            }
            nextHost = host + ((long) run << disk.clusterBits);
            pos += writeRun(clusterIndex, inCluster, run, host, src);
        }
    }

    /**
     * calculate_l2_meta's check before a write changes anything: an extended entry whose bitmap contradicts itself
     * marks the image corrupt (in words other than the read path's, with one space).
     */
    private void refuseInvalidEntries(long offset, long length) throws IOException {
        long entriesPerSlice = disk.l2Cache.sliceSize() / disk.geometry.entrySize();
        for (long c = disk.clusterIndex(offset); disk.clusterStart(c) < offset + length; c++) {
            ClusterMapper.Mapping m = mapper.lookup(c);
            if (!m.isEmpty() && SubclusterType.of(m.entry(), m.bitmap(), 0, true, disk.externalData)
                    == SubclusterType.INVALID) {
                throw disk.header.corrupt("Invalid cluster entry found (L2 offset: "
                        + L2Corruption.hex(mapper.l2OffsetFor(c)) + ", L2 index: "
                        + L2Corruption.hex(c & (entriesPerSlice - 1)) + ")");
            }
        }
    }

    /**
     * Writes the part of {@code src} that falls into the {@code run} clusters from {@code clusterIndex}, which get
     * the host clusters from {@code host}; whole clusters with nothing to copy are written together. Returns the
     * bytes written.
     */
    private long writeRun(long clusterIndex, int inCluster, int run, long host, ByteBuffer src) throws IOException {
        long clusterSize = disk.clusterSize;
        long written = 0;
        int k = 0;
        while (k < run && src.hasRemaining()) {
            int from = k == 0 ? inCluster : 0;
            int fresh = from == 0 ? freshWholeClusters(clusterIndex + k, run - k, src.remaining()) : 0;
            if (fresh > 0) {
                writeFreshClusters(clusterIndex + k, fresh, host + ((long) k << disk.clusterBits), src);
                written += (long) fresh << disk.clusterBits;
                k += fresh;
                continue;
            }
            int n = (int) Math.min(src.remaining(), clusterSize - from);
            ByteBuffer part = src.slice();
            part.limit(n);
            writeInCluster(clusterIndex + k, from, from + n, part, host + ((long) k << disk.clusterBits));
            src.position(src.position() + n);
            written += n;
            k++;
        }
        return written;
    }

    /**
     * How many of at most {@code max} whole clusters from {@code clusterIndex}, all covered by the {@code remaining}
     * bytes, have no host cluster yet and nothing to copy: those are written with one system call.
     */
    private int freshWholeClusters(long clusterIndex, int max, long remaining) throws IOException {
        long limit = Math.min(max, remaining >>> disk.clusterBits);
        int n = 0;
        while (n < limit) {
            L2Entry.Type t = mapper.type(mapper.lookup(clusterIndex + n).entry());
            if (t != L2Entry.Type.UNALLOCATED && t != L2Entry.Type.ZERO_PLAIN) {
                break;
            }
            n++;
        }
        return n;
    }

    /**
     * How many clusters from {@code clusterIndex} that the write of {@code remaining} bytes from {@code inCluster}
     * touches (within one L2 slice of the cache, as QEMU's handle_alloc counts them) need a new host cluster
     * (count_single_write_clusters): unallocated, zero without a host cluster, compressed, or shared (no COPIED
     * flag). 0 with an external data file, where clusters keep their guest offsets.
     */
    private int newAllocationRun(long clusterIndex, int inCluster, long remaining) throws IOException {
        if (disk.externalData) {
            return 0;
        }
        long entriesPerSlice = disk.l2Cache.sliceSize() / disk.geometry.entrySize();
        long touched = (inCluster + remaining + disk.clusterSize - 1) >>> disk.clusterBits;
        long max = Math.min(touched, entriesPerSlice - (clusterIndex & (entriesPerSlice - 1)));
        int n = 0;
        while (n < max) {
            long entry = mapper.lookup(clusterIndex + n).entry();
            boolean needsNew = switch (mapper.type(entry)) {
                case NORMAL, ZERO_ALLOC -> !L2Entry.copied(entry);
                default -> true;
            };
            if (!needsNew) {
                break;
            }
            n++;
        }
        return n;
    }

    /** Writes {@code count} whole fresh clusters at {@code host} (allocated) and points their entries there. */
    private void writeFreshClusters(long clusterIndex, int count, long host, ByteBuffer src) throws IOException {
        long l2Offset = mapper.writableL2(clusterIndex);
        long bytes = (long) count << disk.clusterBits;
        for (long done = 0; done < bytes; ) {
            int n = (int) Math.min(MAX_FRESH_RUN, bytes - done);
            ByteBuffer part = src.slice();
            part.limit(n);
            writeData(host + done, disk.clusterStart(clusterIndex) + done, part);
            src.position(src.position() + n);
            done += n;
        }
        long bitmap = disk.extendedL2 ? SubclusterBitmap.of(-1, 0) : 0;
        for (int k = 0; k < count; k++) {
            mapper.setEntry(l2Offset, clusterIndex + k, (host + ((long) k << disk.clusterBits)) | L2Entry.OFLAG_COPIED,
                    bitmap);
        }
    }

    /**
     * Writes guest bytes [from, to) of cluster {@code clusterIndex}; a cluster that needs a new host cluster gets
     * {@code preHost} when it is not negative (allocated with others of the same request), else one allocated here.
     */
    private void writeInCluster(long clusterIndex, int from, int to, ByteBuffer data, long preHost)
            throws IOException {
        long clusterSize = disk.clusterSize;
        long l2Offset = mapper.writableL2(clusterIndex);
        ClusterMapper.Mapping m = mapper.lookup(clusterIndex);
        long entry = m.entry();
        long bitmap = m.bitmap();
        L2Entry.Type type = mapper.type(entry);
        long guestCluster = disk.clusterStart(clusterIndex);
        boolean hasHost = type == L2Entry.Type.NORMAL || type == L2Entry.Type.ZERO_ALLOC;
        boolean inPlace = hasHost && (L2Entry.copied(entry) || disk.externalData);
        if (inPlace && (L2Entry.hostOffset(entry) & (clusterSize - 1)) != 0) {
            throw disk.header.corrupt(L2Corruption.unalignedWrite(L2Entry.hostOffset(entry), guestCluster + from));
        }

        if (inPlace) {
            long host = L2Entry.hostOffset(entry);
            if (!disk.extendedL2) {
                if (type == L2Entry.Type.ZERO_ALLOC) {
                    writeCow(host, 0, from, new byte[from], guestCluster);
                    writeCow(host, to, (int) clusterSize - to, new byte[(int) clusterSize - to], guestCluster);
                }
                writeData(host + from, guestCluster + from, data);
                mapper.setEntry(l2Offset, clusterIndex, host | L2Entry.OFLAG_COPIED, 0);
            } else {
                byte[][] edges = edgeCow(clusterIndex, entry, bitmap, from, to);
                writeEdges(host, from, to, edges, guestCluster);
                writeData(host + from, guestCluster + from, data);
                mapper.setEntry(l2Offset, clusterIndex, entry, touch(bitmap, from, to));
            }
            return;
        }

        long newHost = disk.externalData ? guestCluster
                : preHost >= 0 ? preHost : disk.refcounts.allocClusters(clusterSize);
        if (!disk.extendedL2 || type == L2Entry.Type.COMPRESSED) {
            // The whole cluster gets written: the old content around the new data, then the data.
            byte[] before = oldContent(clusterIndex, entry, 0, from);
            byte[] after = oldContent(clusterIndex, entry, to, (int) clusterSize);
            writeCow(newHost, 0, from, before, guestCluster);
            writeCow(newHost, to, (int) clusterSize - to, after, guestCluster);
            writeData(newHost + from, guestCluster + from, data);
            long newBitmap = disk.extendedL2 ? SubclusterBitmap.of(-1, 0) : 0;
            mapper.setEntry(l2Offset, clusterIndex, newHost | L2Entry.OFLAG_COPIED, newBitmap);
        } else {
            // Extended L2 (calculate_l2_meta): a cluster with a host cluster is copied from its first allocated
            // subcluster (or the write's, if earlier) to its last (or the write's, if later), and that whole range
            // becomes allocated; one without copies the partial subclusters at the write's edges.
            long newBitmap;
            if (hasHost) {
                long unit = disk.subclusterSize;
                int alloc = (int) bitmap;
                int firstSc = Math.min((int) (from / unit), Integer.numberOfTrailingZeros(alloc));
                int lastSc = Math.max((int) ((to - 1) / unit), 31 - Integer.numberOfLeadingZeros(alloc));
                int cowFrom = (int) (firstSc * unit);
                int cowTo = (int) ((lastSc + 1) * unit);
                writeCow(newHost, cowFrom, from - cowFrom, oldContent(clusterIndex, entry, cowFrom, from),
                        guestCluster);
                writeCow(newHost, to, cowTo - to, oldContent(clusterIndex, entry, to, cowTo), guestCluster);
                newBitmap = touch(bitmap, cowFrom, cowTo);
            } else {
                newBitmap = touch(bitmap, from, to);
                byte[][] edges = edgeCow(clusterIndex, entry, bitmap, from, to);
                writeEdges(newHost, from, to, edges, guestCluster);
            }
            writeData(newHost + from, guestCluster + from, data);
            mapper.setEntry(l2Offset, clusterIndex, newHost | L2Entry.OFLAG_COPIED, newBitmap);
        }
        frees.freeEntry(entry, type, false);
    }

    /** Allocation bits set and zero bits cleared for every subcluster [from, to) touches. */
    private long touch(long bitmap, int from, int to) {
        long range = status.subclusterRange(from, to);
        return (bitmap | range) & ~(range << 32);
    }

    /**
     * Copy-on-write for the partial subclusters at the edges of a write into an extended L2 cluster: the part of
     * the first and last touched subcluster outside [from, to), unless that subcluster is already allocated in
     * place.
     */
    private byte[][] edgeCow(long clusterIndex, long entry, long bitmap, int from, int to) throws IOException {
        long subclusterSize = disk.subclusterSize;
        int firstSubcluster = (int) (from / subclusterSize);
        int lastSubcluster = (int) ((to - 1) / subclusterSize);
        int headStart = (int) (firstSubcluster * subclusterSize);
        int tailEnd = (int) ((lastSubcluster + 1) * subclusterSize);
        boolean inPlaceHost = mapper.type(entry) == L2Entry.Type.NORMAL && L2Entry.copied(entry);
        byte[] head = null;
        byte[] tail = null;
        if (from > headStart && !(inPlaceHost && SubclusterBitmap.allocated(bitmap, firstSubcluster))) {
            head = oldContent(clusterIndex, entry, headStart, from);
        }
        if (to < tailEnd && !(inPlaceHost && SubclusterBitmap.allocated(bitmap, lastSubcluster))) {
            tail = oldContent(clusterIndex, entry, to, tailEnd);
        }
        return new byte[][] {head, tail};
    }

    private void writeEdges(long host, int from, int to, byte[][] edges, long guestCluster) throws IOException {
        if (edges[0] != null) {
            writeCow(host, from - edges[0].length, edges[0].length, edges[0], guestCluster);
        }
        if (edges[1] != null) {
            writeCow(host, to, edges[1].length, edges[1], guestCluster);
        }
    }

    /** What guest bytes [from, to) of a cluster read as now (for copy-on-write). */
    private byte[] oldContent(long clusterIndex, long entry, int from, int to) throws IOException {
        byte[] out = new byte[Math.max(0, to - from)];
        if (out.length == 0) {
            return out;
        }
        if (mapper.type(entry) == L2Entry.Type.COMPRESSED) {
            System.arraycopy(compressed.decompressed(entry), from, out, 0, out.length);
            return out;
        }
        long guest = disk.clusterStart(clusterIndex) + from;
        long visible = Math.max(0, Math.min(out.length, disk.size - guest));
        ByteBuffer b = ByteBuffer.wrap(out);
        b.limit((int) visible);
        reads.readInCluster(clusterIndex, from, (int) visible, b);
        return out;
    }

    /** Copy-on-write bytes [at, at + len) of the cluster at {@code host}, whose guest cluster is at guestCluster. */
    private void writeCow(long host, int at, int len, byte[] content, long guestCluster) throws IOException {
        if (len <= 0 || content.length == 0) {
            return;
        }
        ByteBuffer b = ByteBuffer.wrap(content, 0, len);
        disk.stats.cowBytes += len;
        writeData(host + at, guestCluster + at, b);
    }

    /** Guest bytes to the data file at {@code host}; an encrypted image's are encrypted (qcow2_co_encrypt). */
    private void writeData(long host, long guest, ByteBuffer data) throws IOException {
        if (disk.crypto == null) {
            disk.dataFile.writeFully(host, data.duplicate());
            return;
        }
        byte[] buf = new byte[data.remaining()];
        data.duplicate().get(buf);
        disk.crypto.encrypt(host, guest, buf, 0, buf.length);
        disk.dataFile.writeFully(host, ByteBuffer.wrap(buf));
    }
}
