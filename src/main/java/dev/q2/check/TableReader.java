package dev.q2.check;

import dev.q2.io.ImageFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Reads cluster-sized metadata tables (L2 tables) in the order the check walks them, ahead of the walk and in
 * parallel when allowed, so that the check does not wait on one read at a time. Tables past the end of the file
 * read as zeros, as QEMU reads them. At most {@link #WINDOW} tables are in memory at once.
 */
final class TableReader implements AutoCloseable {
    static final int WINDOW = 64;

    private final ImageFile file;
    private final int tableSize;
    private final int threads;
    private ExecutorService pool;

    TableReader(ImageFile file, int tableSize, int threads) {
        this.file = file;
        this.tableSize = tableSize;
        this.threads = threads;
    }

    /** A walk over {@code n} tables at the given offsets. */
    Batch open(long[] offsets, int n) {
        return new Batch(offsets, n);
    }

    private ByteBuffer read(long offset) {
        ByteBuffer b = ByteBuffer.allocate(tableSize).order(ByteOrder.BIG_ENDIAN);
        try {
            file.readZeroFilled(offset, b);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        b.clear();
        return b;
    }

    final class Batch {
        private final long[] offsets;
        private final int n;
        private final CompletableFuture<ByteBuffer>[] ring;
        private int submitted;

        @SuppressWarnings("unchecked")
        private Batch(long[] offsets, int n) {
            this.offsets = offsets;
            this.n = n;
            this.ring = threads > 1 && n > 1 ? new CompletableFuture[WINDOW] : null;
        }

        /** Table number {@code k}; tables must be asked for in order. */
        ByteBuffer get(int k) throws IOException {
            if (ring == null) {
                return readOrThrow(offsets[k]);
            }
            if (pool == null) {
                pool = Executors.newFixedThreadPool(threads, r -> {
                    Thread t = new Thread(r, "q2-check-read");
                    t.setDaemon(true);
                    return t;
                });
            }
            while (submitted < n && submitted < k + WINDOW) {
                long off = offsets[submitted];
                ring[submitted % WINDOW] = CompletableFuture.supplyAsync(() -> read(off), pool);
                submitted++;
            }
            try {
                ByteBuffer b = ring[k % WINDOW].join();
                ring[k % WINDOW] = null;
                return b;
            } catch (CompletionException e) {
                if (e.getCause() instanceof UncheckedIOException u) {
                    throw u.getCause();
                }
                throw e;
            }
        }

        private ByteBuffer readOrThrow(long offset) throws IOException {
            try {
                return read(offset);
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
        }
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }
}
