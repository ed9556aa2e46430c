package dev.q2.convert;

import dev.q2.image.BlockDevice;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Runs the reading half of a conversion on a second thread, a few steps ahead of the writing half, so that
 * reading the source overlaps writing the target (qemu-img overlaps them with coroutines and a thread pool).
 * The producer plans the steps and reads each data step into one of a few buffers; the consumer takes the steps
 * in order, writes them and hands the buffers back. Each device stays on one thread: the source on the reader's,
 * the target on the caller's, so neither needs to be thread-safe.
 */
final class ReadAhead implements AutoCloseable {
    /**
     * One step of the copy: {@code n} bytes at {@code pos}, of the given kind; {@code data} holds DATA steps, and
     * {@code parts}, where the reader worked it out, how they split into data and zeros (sector counts, negative
     * for zeros).
     */
    record Step(long pos, long n, BlockDevice.Kind what, ByteBuffer data, int[] parts) {
        Step(long pos, long n, BlockDevice.Kind what, ByteBuffer data) {
            this(pos, n, what, data, null);
        }
    }

    /** The reading half: calls {@link #buffer()} and {@link #put(Step)} for each step, in order. */
    interface Producer {
        void run(ReadAhead out) throws IOException;
    }

    private static final Object END = new Object();
    private static final long POLL_MS = 50;

    private final BlockingQueue<ByteBuffer> free;
    private final BlockingQueue<Object> ready = new ArrayBlockingQueue<>(256); // Step, Throwable or END
    private final Thread thread;
    private volatile boolean cancelled;
    private final int bufferSize;
    /** Buffers not made yet (the reader's own count): made when first needed, so that a copy with no data step,
     *  or with one, does not allocate and zero 8 MiB of direct memory it never uses (session 6). */
    private int unmade;

    ReadAhead(int buffers, int bufferSize, Producer producer) {
        free = new ArrayBlockingQueue<>(buffers);
        this.bufferSize = bufferSize;
        this.unmade = buffers;
        thread = new Thread(new Runnable() { // not a lambda: no java.lang.invoke bootstrap at start-up on JDK 17
            @Override
            public void run() {
                Object last = END;
                try {
                    producer.run(ReadAhead.this);
                } catch (Cancelled e) {
                    return;
                } catch (Throwable t) {
                    last = t;
                }
                try {
                    offer(last);
                } catch (Cancelled e) {
                    // nobody is waiting any more
                }
            }
        }, "q2-read-ahead");
        thread.setDaemon(true);
        thread.start();
    }

    /** Reader: a free buffer to read the next data step into (waits for the writer to hand one back). */
    ByteBuffer buffer() {
        if (unmade > 0 && free.isEmpty()) {
            unmade--;
            // direct: no copy per read and write; native order: the zero tests' getLong then needs no byte swap
            return ByteBuffer.allocateDirect(bufferSize).order(java.nio.ByteOrder.nativeOrder());
        }
        try {
            while (!cancelled) {
                ByteBuffer b = free.poll(POLL_MS, TimeUnit.MILLISECONDS);
                if (b != null) {
                    return b.clear();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        throw new Cancelled();
    }

    /** Reader: the next step, in order. */
    void put(Step step) {
        offer(step);
    }

    /** Writer: the next step, or null after the last; the reader's failure is rethrown here. */
    Step next() throws IOException {
        Object o;
        try {
            o = ready.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while converting");
        }
        if (o == END) {
            ready.add(END); // later calls see the end too
            return null;
        }
        if (o instanceof IOException e) {
            throw e;
        }
        if (o instanceof UncheckedIOException e) {
            throw e.getCause();
        }
        if (o instanceof RuntimeException e) {
            throw e;
        }
        if (o instanceof Error e) {
            throw e;
        }
        if (o instanceof Throwable t) {
            throw new IOException(t);
        }
        return (Step) o;
    }

    /** Writer: gives a data step's buffer back once it is written. */
    void recycle(ByteBuffer b) {
        free.add(b);
    }

    private void offer(Object o) {
        try {
            while (!cancelled) {
                if (ready.offer(o, POLL_MS, TimeUnit.MILLISECONDS)) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        throw new Cancelled();
    }

    /** Stops the reader (if the writer gave up early) and waits for it, so the source can be closed. */
    @Override
    public void close() {
        cancelled = true;
        ready.clear();
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Unwinds the reader after {@link #close()}. */
    private static final class Cancelled extends RuntimeException {
        Cancelled() {
            super(null, null, false, false);
        }
    }
}
