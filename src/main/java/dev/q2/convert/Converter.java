package dev.q2.convert;

import dev.q2.create.CreateSpec;
import dev.q2.create.Qcow2Creator;
import dev.q2.image.BlockDevice;
import dev.q2.image.DiskOptions;
import dev.q2.image.Qcow2Disk;
import dev.q2.io.ImageFile;
import dev.q2.io.QemuLock;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.DoubleConsumer;

/**
 * qemu-img convert for raw and qcow2 targets: copies what the source says is data, never writes what reads as
 * zeros (so the target stays sparse), and with {@code compress} writes each data cluster compressed.
 */
public final class Converter {
    /** Bytes read and written per step; large enough to keep system calls few. */
    private static final int CHUNK = 2 << 20;

    private Converter() {
    }

    /** Copies {@code src} into a new raw file. */
    public static void toRaw(BlockDevice src, Path dst, DoubleConsumer progress) throws IOException {
        Files.deleteIfExists(dst);
        Files.createFile(dst);
        try (ImageFile out = ImageFile.openReadWrite(dst);
             QemuLock lock = QemuLock.acquire(out.channel(), dst, QemuLock.PERM_CONSISTENT_READ
                     | QemuLock.PERM_WRITE | QemuLock.PERM_RESIZE, QemuLock.PERM_CONSISTENT_READ
                     | QemuLock.PERM_WRITE_UNCHANGED)) {
            out.setLength(src.size());
            // no fsync: qemu-img convert writes its target with cache=unsafe by default
            copy(src, (off, buf) -> out.writeFully(off, buf), progress, -1, null);
        }
    }

    /** Copies {@code src} into a new qcow2 image created from {@code spec} (whose size must be the source's). */
    public static void toQcow2(BlockDevice src, Path dst, CreateSpec spec, boolean compress,
                               DoubleConsumer progress) throws IOException {
        Qcow2Creator.create(dst, spec);
        try (Qcow2Disk out = Qcow2Disk.open(dst, DiskOptions.readWrite().withoutBacking().withDurable(false))) {
            int cs = (int) spec.clusterSize();
            copy(src, (off, buf) -> out.write(off, buf), progress, compress ? cs : -1,
                    compress ? out : null);
            out.flush();
        }
    }

    @FunctionalInterface
    interface Sink {
        void write(long offset, ByteBuffer data) throws IOException;
    }

    private static void copy(BlockDevice src, Sink sink, DoubleConsumer progress, int compressUnit,
                             Qcow2Disk compressTarget) throws IOException {
        long size = src.size();
        int unit = compressUnit > 0 ? compressUnit : CHUNK;
        ByteBuffer buf = ByteBuffer.allocateDirect(Math.max(unit, CHUNK)); // direct: no copy per read and write
        progress.accept(0);
        long pos = 0;
        while (pos < size) {
            BlockDevice.Extent e = src.status(pos, Math.min(CHUNK, size - pos));
            long len = Math.max(1, e.length());
            if (!e.zero() && compressUnit <= 0) {
                // gather neighbouring data extents into one read and one write
                while (pos + len < size && len < CHUNK) {
                    BlockDevice.Extent next = src.status(pos + len, Math.min(CHUNK - len, size - pos - len));
                    if (next.zero() || next.length() <= 0) {
                        break;
                    }
                    len += next.length();
                }
            }
            if (!e.zero()) {
                if (compressUnit > 0) {
                    long clusterStart = pos - pos % unit;
                    long clusterEnd = Math.min(clusterStart + unit, size);
                    byte[] cluster = new byte[unit];
                    src.read(clusterStart, ByteBuffer.wrap(cluster, 0, (int) (clusterEnd - clusterStart)));
                    if (!allZero(cluster, unit)) {
                        compressTarget.writeCompressed(clusterStart, cluster);
                    }
                    len = clusterEnd - pos;
                } else {
                    buf.clear().limit((int) len);
                    src.read(pos, buf);
                    buf.flip();
                    writeNonZero(sink, pos, buf);
                }
            }
            pos += len;
            progress.accept(100.0 * pos / size);
        }
        progress.accept(100);
    }

    /** Writes the buffer, skipping 4 KiB blocks of zeros so the target stays sparse. */
    private static void writeNonZero(Sink sink, long offset, ByteBuffer data) throws IOException {
        final int block = 4096;
        int n = data.remaining();
        int runStart = -1;
        for (int at = 0; at < n; at += block) {
            int len = Math.min(block, n - at);
            boolean zero = isZero(data, at, len);
            if (!zero && runStart < 0) {
                runStart = at;
            } else if (zero && runStart >= 0) {
                sink.write(offset + runStart, data.duplicate().position(runStart).limit(at));
                runStart = -1;
            }
        }
        if (runStart >= 0) {
            sink.write(offset + runStart, data.duplicate().position(runStart).limit(n));
        }
    }

    /** Zeros to compare against: ByteBuffer.mismatch is a vectorized intrinsic, far faster than a loop. */
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(1 << 16);

    private static boolean isZero(ByteBuffer b, int from, int len) {
        for (int at = from; at < from + len; at += ZEROS.capacity()) {
            int n = Math.min(ZEROS.capacity(), from + len - at);
            if (b.slice(at, n).mismatch(ZEROS.slice(0, n)) != -1) {
                return false;
            }
        }
        return true;
    }

    private static boolean allZero(byte[] a, int len) {
        return isZero(ByteBuffer.wrap(a), 0, len);
    }
}
