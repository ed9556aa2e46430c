package dev.q2.guestio;

import dev.q2.image.Qcow2Disk;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * QEMU's {@code compress} filter driver over a qcow2 node (iotest 214): every write is a compressed write. Its
 * request alignment is the image's cluster size, so the block layer widens a write to whole clusters, reading what
 * the clusters it only partly covers hold (read-modify-write), and each cluster is written compressed (or, where it
 * does not compress, as a normal cluster, as the qcow2 driver falls back). Reads, zero writes, discards and flushes
 * pass through.
 */
public final class CompressFilter implements GuestDisk {
    private final GuestDisk child;
    private final Qcow2Disk qcow2;

    private CompressFilter(GuestDisk child) {
        this.child = child;
        this.qcow2 = child.qcow2();
    }

    /**
     * The filter over {@code child}; null when its format cannot compress (QEMU's words are then
     * {@link #unsupported}).
     */
    public static GuestDisk over(GuestDisk child) {
        return child.qcow2() == null ? null : new CompressFilter(child);
    }

    /** QEMU's refusal of a child whose driver has no compressed writes. */
    public static String unsupported(String driver) {
        return "Compression is not supported for underlying format: " + driver;
    }

    @Override
    public String format() {
        return "compress";
    }

    @Override
    public long size() {
        return child.size();
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        child.read(offset, dst);
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        int cs = (int) qcow2.header().clusterSize();
        long end = offset + src.remaining();
        long first = offset & -(long) cs;
        long last = Math.min((end + cs - 1) & -(long) cs, size());
        for (long c = first; c < last; c += cs) {
            byte[] cluster = new byte[(int) Math.min(cs, size() - c)];
            long from = Math.max(c, offset);
            long to = Math.min(c + cluster.length, end);
            if (from > c || to < c + cluster.length) {
                child.read(c, ByteBuffer.wrap(cluster)); // the padding: what the cluster holds now
            }
            ByteBuffer part = src.duplicate();
            part.position(src.position() + (int) (from - offset));
            part.get(cluster, (int) (from - c), (int) (to - from));
            if (cluster.length == cs) {
                qcow2.writeCompressed(c, cluster);
            } else {
                child.write(c, ByteBuffer.wrap(cluster)); // a partial last cluster: written as it is
            }
        }
        src.position(src.limit());
    }

    @Override
    public void writeZeroes(long offset, long length, boolean unmap) throws IOException {
        child.writeZeroes(offset, length, unmap);
    }

    @Override
    public void discard(long offset, long length) throws IOException {
        child.discard(offset, length);
    }

    @Override
    public void flush() throws IOException {
        child.flush();
    }

    @Override
    public Qcow2Disk qcow2() {
        return qcow2;
    }

    @Override
    public void close() throws IOException {
        child.close();
    }
}
