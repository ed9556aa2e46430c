package dev.q2.convert;

import dev.q2.image.Qcow2Disk;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * convert -c's compressed clusters: compressed on a thread pool as qemu-img compresses them on its coroutines'
 * threads, and written in guest order by the caller's thread, so that the target's layout (each compressed cluster
 * allocated right after the previous one) is the same as with one thread.
 */
final class CompressedWrites implements AutoCloseable {
    private record Pending(long pos, byte[] cluster, Future<byte[]> compressed) {
    }

    private final Qcow2Disk target;
    private final ExecutorService pool;
    private final int depth;
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();

    CompressedWrites(Qcow2Disk target, int threads) {
        this.target = target;
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "q2-compress");
            t.setDaemon(true);
            return t;
        });
        this.depth = 2 * threads; // enough to keep every thread busy while the oldest is written
    }

    /** Queues a whole cluster at guest offset {@code pos}; writes the oldest ones once enough are in flight. */
    void add(long pos, byte[] cluster) throws IOException {
        queue.add(new Pending(pos, cluster, pool.submit(() -> target.compressCluster(cluster))));
        while (queue.size() > depth) {
            writeOldest();
        }
    }

    /** Writes everything queued, in order: before any other write to the target. */
    void drain() throws IOException {
        while (!queue.isEmpty()) {
            writeOldest();
        }
    }

    private void writeOldest() throws IOException {
        Pending p = queue.poll();
        byte[] compressed;
        try {
            compressed = p.compressed().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while compressing");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException(e.getCause());
        }
        try {
            target.writeCompressed(p.pos(), p.cluster(), compressed);
        } catch (dev.q2.image.ImageException e) {
            throw new ConvertException("error while writing at byte " + p.pos() + ": " + e.getMessage());
        }
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
