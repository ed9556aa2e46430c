package dev.q2.image;

import dev.q2.format.CompressedDescriptor;
import dev.q2.format.L2Entry;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Seam: compressed writes (qcow2.c's qcow2_co_pwritev_compressed_task, qcow2-cluster.c's
 * qcow2_alloc_compressed_cluster_offset): one whole, not yet allocated cluster stored compressed at a byte offset
 * of the file, or written normally when it does not compress.
 */
final class CompressedWriter {
    private final DiskState disk;
    private final ClusterMapper mapper;
    private final WritePath writes;
    private final CompressedClusters compressed;

    CompressedWriter(DiskState disk, ClusterMapper mapper, WritePath writes, CompressedClusters compressed) {
        this.disk = disk;
        this.mapper = mapper;
        this.writes = writes;
        this.compressed = compressed;
    }

    /** See {@link Qcow2Disk#writeCompressed(long, byte[], byte[])}. */
    void writeCompressed(long offset, byte[] cluster, byte[] precompressed) throws IOException {
        long clusterSize = disk.clusterSize;
        disk.header.requireUsable();
        disk.requireWritable();
        if ((offset & (clusterSize - 1)) != 0 || cluster.length != clusterSize) {
            throw new IllegalArgumentException("compressed writes are whole, aligned clusters");
        }
        if (disk.externalData) {
            throw new ImageException("Cannot compress into an image with an external data file");
        }
        disk.markBitmaps(offset, Math.min(clusterSize, disk.size - offset));
        disk.header.markDirtyIfLazy();
        long clusterIndex = disk.clusterIndex(offset);
        long l2Offset = mapper.writableL2(clusterIndex);
        L2Entry.Type type = mapper.type(mapper.lookup(clusterIndex).entry());
        if (type != L2Entry.Type.UNALLOCATED && type != L2Entry.Type.ZERO_PLAIN) {
            writes.write(offset, ByteBuffer.wrap(cluster));
            return;
        }
        byte[] out = precompressed != null ? precompressed : compressed.compress(cluster);
        if (out == null) {
            writes.write(offset, ByteBuffer.wrap(cluster));
            return;
        }
        int len = out.length;
        disk.stats.guestBytesWritten += clusterSize;
        long host = disk.refcounts.allocBytes(len);
        disk.dataFile.writeFully(host, ByteBuffer.wrap(out, 0, len));
        long sectors = ((host + len - 1) >>> 9) - (host >>> 9);
        long entry = new CompressedDescriptor(host, (int) sectors).encode(disk.clusterBits);
        mapper.setEntry(l2Offset, clusterIndex, entry, 0);
    }

    /** See {@link Qcow2Disk#finishCompressedWrites()}. */
    void finishCompressedWrites() throws IOException {
        disk.requireWritable();
        long length = disk.file.size();
        long aligned = (length + 511) & ~511L;
        if (aligned != length) {
            disk.file.setLength(aligned);
        }
    }
}
