package dev.q2.bench;

import dev.q2.cache.L2Cache;
import dev.q2.image.ImageException;
import dev.q2.image.Qcow2Disk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;

/**
 * Runs a workload through the engine and reads the L2 cache counters and the write accounting. Host bytes written
 * cover everything that reached the image and data files: guest data, copy-on-write and metadata (refcount
 * blocks, L2 tables, L1 entries), including the final flush, so write amplification is host ÷ guest bytes.
 */
public final class Bench {
    private Bench() {
    }

    public static BenchResult run(Qcow2Disk disk, BenchSpec spec) throws IOException {
        if (spec.offset() < 0 || spec.offset() >= disk.size()) {
            throw new ImageException("the bench offset " + spec.offset() + " is not inside the disk ("
                    + disk.size() + " bytes)");
        }
        long length = spec.length() > 0 ? spec.length() : disk.size() - spec.offset();
        if (length < spec.ioSize() || length > disk.size() - spec.offset()) {
            throw new ImageException("the bench range (offset " + spec.offset() + ", length " + length
                    + ") does not fit in the disk (" + disk.size() + " bytes) or is smaller than one I/O");
        }
        long slots = length / spec.ioSize();
        SplittableRandom rnd = new SplittableRandom(spec.seed());
        ByteBuffer buf = ByteBuffer.allocate(spec.ioSize());
        long[] next = {0};
        for (long i = 0; i < spec.warmup(); i++) {
            one(disk, spec, rnd, slots, next, buf, i);
        }
        if (spec.write()) {
            disk.flush();
        }
        L2Cache cache = disk.l2Cache();
        cache.resetCounters();
        long guestBefore = disk.stats().guestBytesWritten;
        long hostBefore = disk.hostBytesWritten();
        long cowBefore = disk.stats().cowBytes;
        long t0 = System.nanoTime();
        for (long i = 0; i < spec.count(); i++) {
            one(disk, spec, rnd, slots, next, buf, i);
        }
        if (spec.write()) {
            disk.flush();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new BenchResult(spec.count(), cache.hits(), cache.misses(), cache.bytesRead(),
                disk.stats().guestBytesWritten - guestBefore, disk.hostBytesWritten() - hostBefore,
                disk.stats().cowBytes - cowBefore, seconds, cache.capacityBytes(), cache.sliceSize());
    }

    private static void one(Qcow2Disk disk, BenchSpec spec, SplittableRandom rnd, long slots, long[] next,
                            ByteBuffer buf, long i) throws IOException {
        long slot = spec.random() ? rnd.nextLong(slots) : next[0]++ % slots;
        long off = spec.offset() + slot * spec.ioSize();
        buf.clear();
        if (spec.write()) {
            byte fill = (byte) (1 + (i % 255));
            for (int k = 0; k < buf.capacity(); k += 512) {
                buf.put(k, fill);
            }
            disk.write(off, buf);
        } else {
            disk.read(off, buf);
        }
    }
}
