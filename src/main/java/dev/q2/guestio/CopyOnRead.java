package dev.q2.guestio;

import dev.q2.image.BlockDevice;
import dev.q2.image.Qcow2Disk;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Copy-on-read (qemu-io -C, QEMU's bdrv_co_do_copy_on_readv): before a read, every part of the clusters it touches
 * that the image does not allocate itself is read through the backing chain and written into the image, in pieces
 * of at most 16 MiB (QEMU's bounce buffer), a piece that reads as zeros as a zero write. Up to the image's end: the
 * last cluster of an image whose size is not a multiple of the cluster size is copied as far as the image goes.
 * A raw file allocates everything: nothing is copied ({@link GuestDisk#of(Qcow2Disk, boolean)} reads with it).
 */
final class CopyOnRead {
    /** QEMU's MAX_BOUNCE_BUFFER: 32768 sectors. */
    private static final int MAX_BOUNCE = 16 << 20;

    private CopyOnRead() {
    }

    /** Copies what the clusters of [offset, offset + length) take from below into {@code q}. */
    static void copyIn(Qcow2Disk q, long offset, long length) throws IOException {
        long cluster = q.header().clusterSize();
        long pos = offset / cluster * cluster;
        long end = Math.min(q.size(), (offset + length + cluster - 1) / cluster * cluster);
        ByteBuffer bounce = null;
        while (pos < end) {
            BlockDevice.Layered run = q.layerStatus(pos, end - pos);
            long n = Math.max(1, Math.min(run.length(), end - pos));
            if (run.kind() == BlockDevice.Kind.DATA) {
                pos += n;
                continue;
            }
            int chunk = (int) Math.min(n, MAX_BOUNCE);
            if (bounce == null || bounce.capacity() < chunk) {
                bounce = ByteBuffer.allocate((int) Math.min(MAX_BOUNCE, end - pos));
            }
            bounce.clear().limit(chunk);
            q.read(pos, bounce);
            bounce.flip();
            if (isZero(bounce)) {
                q.writeZeroes(pos, chunk, false);
            } else {
                q.write(pos, bounce);
            }
            pos += chunk;
        }
    }

    private static boolean isZero(ByteBuffer b) {
        for (int i = b.position(); i < b.limit(); i++) {
            if (b.get(i) != 0) {
                return false;
            }
        }
        return true;
    }
}
