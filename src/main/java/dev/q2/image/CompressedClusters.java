package dev.q2.image;

import dev.q2.compress.ClusterCodec;
import dev.q2.format.CompressedDescriptor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Seam: compressed cluster data (qcow2.c's qcow2_co_preadv_compressed, qcow2_co_compress and the
 * decompression cache): reading and decompressing one cluster, keeping the last one, and compressing a cluster
 * for a compressed write.
 */
final class CompressedClusters {
    private final DiskState disk;
    private final int compressionType;
    private volatile ClusterCodec codec; // compress may run on several threads
    private long cachedHostOffset = -1;
    private byte[] cachedCluster;

    CompressedClusters(DiskState disk, int compressionType) {
        this.disk = disk;
        this.compressionType = compressionType;
    }

    private ClusterCodec codec() {
        if (codec == null) {
            codec = ClusterCodec.forType(compressionType);
        }
        return codec;
    }

    /** The guest cluster a compressed entry describes (the returned array is shared: do not change it). */
    byte[] decompressed(long entry) throws IOException {
        CompressedDescriptor d = CompressedDescriptor.decode(entry, disk.clusterBits);
        if (d.hostOffset() == cachedHostOffset) {
            return cachedCluster;
        }
        long clusterSize = disk.clusterSize;
        long start = d.hostOffset();
        long end = d.endOffset();
        long len = Math.min(end - start, Math.max(0, disk.dataFile.size() - start));
        if (len <= 0 || end - start > 2 * clusterSize + 512) {
            throw new ImageException("compressed cluster at offset " + start + " lies outside the image");
        }
        ByteBuffer in = ByteBuffer.allocate((int) len);
        disk.dataFile.readFully(start, in);
        byte[] out = new byte[(int) clusterSize];
        codec().decompress(in.array(), (int) len, out, (int) clusterSize);
        cachedHostOffset = start;
        cachedCluster = out;
        return out;
    }

    /** Forgets the cached cluster if it was the one at {@code hostOffset} (it is being freed). */
    void forget(long hostOffset) {
        if (hostOffset == cachedHostOffset) {
            cachedHostOffset = -1;
        }
    }

    /** The compressed bytes of one whole cluster, or null when they would not be smaller than a cluster. */
    byte[] compress(byte[] cluster) throws IOException {
        if (cluster.length != disk.clusterSize) {
            throw new IllegalArgumentException("compressed writes are whole clusters");
        }
        byte[] out = new byte[(int) disk.clusterSize - 1];
        int len = codec().compress(cluster, cluster.length, out);
        return len < 0 ? null : Arrays.copyOf(out, len);
    }
}
