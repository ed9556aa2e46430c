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
 * A raw file allocates everything: nothing is copied.
 */
final class CopyOnReadDisk implements GuestDisk {
    /** QEMU's MAX_BOUNCE_BUFFER: 32768 sectors. */
    private static final int MAX_BOUNCE = 16 << 20;

    private final GuestDisk disk;

    CopyOnReadDisk(GuestDisk disk) {
        this.disk = disk;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        Qcow2Disk q = disk.qcow2();
        if (q != null && dst.hasRemaining()) {
            copyIn(q, offset, dst.remaining());
        }
        disk.read(offset, dst);
    }

    private void copyIn(Qcow2Disk q, long offset, long length) throws IOException {
        long cluster = q.header().clusterSize();
        long pos = offset / cluster * cluster;
        long end = Math.min(disk.size(), (offset + length + cluster - 1) / cluster * cluster);
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
            disk.read(pos, bounce);
            bounce.flip();
            if (isZero(bounce)) {
                disk.writeZeroes(pos, chunk, false);
            } else {
                disk.write(pos, bounce);
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

    @Override
    public String format() {
        return disk.format();
    }

    @Override
    public long size() {
        return disk.size();
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        disk.write(offset, src);
    }

    @Override
    public void writeZeroes(long offset, long length, boolean unmap) throws IOException {
        disk.writeZeroes(offset, length, unmap);
    }

    @Override
    public void discard(long offset, long length) throws IOException {
        disk.discard(offset, length);
    }

    @Override
    public void flush() throws IOException {
        disk.flush();
    }

    @Override
    public Qcow2Disk qcow2() {
        return disk.qcow2();
    }

    @Override
    public void close() throws IOException {
        disk.close();
    }
}
