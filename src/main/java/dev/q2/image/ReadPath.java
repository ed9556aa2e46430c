package dev.q2.image;

import dev.q2.format.L2Entry;
import dev.q2.format.SubclusterBitmap;

import java.io.IOException;
import java.nio.BufferOverflowException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Seam: the read path (qcow2.c's qcow2_co_preadv_part): guest bytes from data clusters (runs of adjacent host
 * clusters in one read), zero and unallocated (sub)clusters, the backing file and compressed clusters.
 */
final class ReadPath {
    /** The longest run of adjacent host clusters read with one system call. */
    private static final long MAX_HOST_RUN = 8L << 20;

    /** What one subcluster of an extended L2 entry reads as. */
    enum SubclusterRead {
        UNALLOCATED, ALLOCATED, ZERO
    }

    private final DiskState disk;
    private final ClusterMapper mapper;
    private final CompressedClusters compressed;

    ReadPath(DiskState disk, ClusterMapper mapper, CompressedClusters compressed) {
        this.disk = disk;
        this.mapper = mapper;
        this.compressed = compressed;
    }

    void read(long offset, ByteBuffer dst) throws IOException {
        disk.header.requireUsable();
        long size = disk.size;
        long clusterSize = disk.clusterSize;
        long pos = offset;
        while (dst.hasRemaining()) {
            if (pos >= size) {
                zero(dst, dst.remaining());
                return;
            }
            long clusterIndex = disk.clusterIndex(pos);
            int inCluster = disk.offsetInCluster(pos);
            int n = (int) Math.min(Math.min(dst.remaining(), clusterSize - inCluster), size - pos);
            int run = contiguousHostRun(clusterIndex, inCluster, n, Math.min(dst.remaining(), size - pos));
            if (run > n) {
                // several standard clusters back to back in the file: one read instead of one per cluster
                readHost(L2Entry.hostOffset(mapper.lookup(clusterIndex).entry()) + inCluster, pos, run, dst);
                n = run;
            } else {
                readInCluster(clusterIndex, inCluster, n, dst);
            }
            pos += n;
            disk.stats.guestBytesRead += n;
        }
    }

    /** See {@link Qcow2Disk#hostRun}. */
    long[] hostRun(long offset, long length) throws IOException {
        disk.header.requireUsable();
        if (disk.extendedL2 || offset >= disk.size || disk.crypto != null) {
            return null; // encrypted data is no host run to copy as it is
        }
        long clusterIndex = disk.clusterIndex(offset);
        int inCluster = disk.offsetInCluster(offset);
        ClusterMapper.Mapping m = mapper.checkedLookup(clusterIndex);
        if (mapper.type(m.entry()) != L2Entry.Type.NORMAL) {
            return null;
        }
        long limit = Math.min(length, disk.size - offset);
        int first = (int) Math.min(disk.clusterSize - inCluster, limit);
        long run = contiguousHostRun(clusterIndex, inCluster, first, limit);
        return new long[] {L2Entry.hostOffset(m.entry()) + inCluster, run};
    }

    /**
     * Bytes from guest cluster {@code clusterIndex} (offset {@code inCluster}) that can be read with one host read:
     * the run of fully allocated standard clusters whose host clusters follow each other, at most {@code limit}
     * bytes.
     */
    private int contiguousHostRun(long clusterIndex, int inCluster, int first, long limit) throws IOException {
        long clusterSize = disk.clusterSize;
        if (disk.extendedL2 || first != clusterSize - inCluster || limit <= first) {
            return first;
        }
        // the clusters after the first join the run only when they are aligned data clusters where QEMU expects
        ClusterMapper.Mapping m = mapper.checkedLookup(clusterIndex);
        if (mapper.type(m.entry()) != L2Entry.Type.NORMAL) {
            return first;
        }
        long host = L2Entry.hostOffset(m.entry());
        long run = first;
        long next = clusterIndex + 1;
        while (run < limit && run < MAX_HOST_RUN) {
            long nextEntry = mapper.lookup(next).entry();
            if (mapper.type(nextEntry) != L2Entry.Type.NORMAL
                    || L2Entry.hostOffset(nextEntry) != host + (next - clusterIndex) * clusterSize) {
                break;
            }
            run += Math.min(clusterSize, limit - run);
            next++;
        }
        return (int) run;
    }

    /** Reads guest bytes [inCluster, inCluster + n) of one cluster into {@code dst}. */
    void readInCluster(long clusterIndex, int inCluster, int n, ByteBuffer dst) throws IOException {
        ClusterMapper.Mapping m = mapper.checkedLookup(clusterIndex);
        long entry = m.entry();
        L2Entry.Type type = mapper.type(entry);
        long guest = disk.clusterStart(clusterIndex) + inCluster;
        if (type == L2Entry.Type.COMPRESSED) {
            dst.put(compressed.decompressed(entry), inCluster, n);
            return;
        }
        if (!disk.extendedL2) {
            switch (type) {
                case NORMAL -> readHost(L2Entry.hostOffset(entry) + inCluster, guest, n, dst);
                case ZERO_PLAIN, ZERO_ALLOC -> zero(dst, n);
                default -> readUnallocated(guest, n, dst);
            }
            return;
        }
        long bitmap = m.bitmap();
        long subclusterSize = disk.subclusterSize;
        int at = inCluster;
        int end = inCluster + n;
        while (at < end) {
            int subcluster = (int) (at / subclusterSize);
            SubclusterRead status = subclusterRead(bitmap, subcluster);
            int s = subcluster;
            while (s < SubclusterBitmap.SUBCLUSTERS && subclusterRead(bitmap, s) == status) {
                s++;
            }
            int runEnd = (int) Math.min(end, (long) s * subclusterSize);
            int len = runEnd - at;
            switch (status) {
                case ALLOCATED -> {
                    long host = L2Entry.hostOffset(entry);
                    if (host == 0 && type != L2Entry.Type.NORMAL) {
                        throw new ImageException("subcluster allocated in a cluster without a host offset; the"
                                + " image is corrupt (run 'q2 check')");
                    }
                    readHost(host + at, disk.clusterStart(clusterIndex) + at, len, dst);
                }
                case ZERO -> zero(dst, len);
                default -> readUnallocated(disk.clusterStart(clusterIndex) + at, len, dst);
            }
            at = runEnd;
        }
    }

    /** The zero bit wins over nothing, allocation over zero, as QEMU reads a subcluster. */
    static SubclusterRead subclusterRead(long bitmap, int subcluster) {
        if (SubclusterBitmap.zero(bitmap, subcluster)) {
            return SubclusterRead.ZERO;
        }
        return SubclusterBitmap.allocated(bitmap, subcluster) ? SubclusterRead.ALLOCATED : SubclusterRead.UNALLOCATED;
    }

    /**
     * Guest data from the file; as in QEMU's block layer, what lies past the end of the file reads as zeros. An
     * encrypted image's data is read in whole sectors and decrypted (qcow2_co_preadv_encrypted).
     */
    private void readHost(long host, long guest, int n, ByteBuffer dst) throws IOException {
        if (disk.crypto != null) {
            readDecrypted(host, guest, n, dst);
            return;
        }
        ByteBuffer part = dst.slice();
        part.limit(n);
        disk.dataFile.readZeroFilled(host, part);
        dst.position(dst.position() + n);
    }

    private void readDecrypted(long host, long guest, int n, ByteBuffer dst) throws IOException {
        int head = (int) (host & 511);
        long start = host - head;
        int len = (int) (((host + n + 511) & ~511L) - start);
        byte[] buf = new byte[len];
        disk.dataFile.readZeroFilled(start, ByteBuffer.wrap(buf));
        disk.crypto.decrypt(start, guest - head, buf, 0, len);
        dst.put(buf, head, n);
    }

    private void readUnallocated(long guest, int n, ByteBuffer dst) throws IOException {
        BlockDevice backing = disk.backing;
        if (backing == null || guest >= backing.size()) {
            zero(dst, n);
            return;
        }
        int fromBacking = (int) Math.min(n, backing.size() - guest);
        ByteBuffer part = dst.slice();
        part.limit(fromBacking);
        backing.read(guest, part);
        dst.position(dst.position() + fromBacking);
        zero(dst, n - fromBacking);
        disk.stats.backingBytesRead += fromBacking;
    }

    /** Puts {@code n} zero bytes (a bulk fill: unallocated and zero clusters are most of a sparse disk). */
    static void zero(ByteBuffer dst, int n) {
        if (n <= 0) {
            return;
        }
        if (n > dst.remaining()) {
            throw new BufferOverflowException();
        }
        int position = dst.position();
        if (dst.hasArray()) {
            int start = dst.arrayOffset() + position;
            Arrays.fill(dst.array(), start, start + n, (byte) 0);
            dst.position(position + n);
            return;
        }
        for (int done = 0; done < n; done += ZEROS.length) {
            dst.put(ZEROS, 0, Math.min(ZEROS.length, n - done));
        }
    }

    private static final byte[] ZEROS = new byte[65536];
}
