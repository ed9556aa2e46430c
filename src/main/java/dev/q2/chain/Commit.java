package dev.q2.chain;

import dev.q2.block.BlockGraph;
import dev.q2.block.BlockStatus;
import dev.q2.block.OpenErrors;
import dev.q2.format.ChildNames;
import dev.q2.image.BlockDevice;
import dev.q2.image.DiskOptions;
import dev.q2.image.EngineTarget;
import dev.q2.image.GuestWriter;
import dev.q2.image.Qcow2Disk;
import dev.q2.image.Qcow2Metadata;
import dev.q2.io.ImageFile;
import dev.q2.io.QemuLock;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * qemu-img commit: writes what an image and the images between it and its base hold into the base (its backing
 * file, or one further down), growing the base first when the image is larger, then empties the image unless told
 * to drop it.
 *
 * <p>What is copied is what QEMU's active commit copies: every range allocated in a layer above the base
 * ({@code bdrv_is_allocated_above}), read through the whole chain; a range that reads as zeros there
 * ({@code bdrv_block_status_above}) is written into the base as a zero write that may unmap. QEMU copies in parallel
 * in chunks of its dirty-bitmap granularity, so the base's layout differs from run to run; q2 copies in order, the
 * runs as block status gives them. The guest data of every image in the chain afterwards is qemu-img's.
 *
 * <p>Emptying is QEMU's qcow2_make_empty: a version 3 image without snapshots, bitmaps, encryption or data file is
 * rebuilt as an empty image ({@link EmptyImage}); any other one has every cluster discarded (made unallocated),
 * without marking its dirty bitmaps. A raw image is left as it is.
 */
public final class Commit {
    private static final int BUF = 2 << 20;

    private Commit() {
    }

    /**
     * What to commit.
     *
     * @param workDir folder relative names are resolved against
     * @param filename the image, as the user named it
     * @param format its format, or null to probe
     * @param base the image to commit into (-b, found as qemu-img finds it in the chain), or null for the backing
     *     file
     * @param drop leave the image as it is (-d, implied by -b)
     * @param durable flush to stable storage (every cache mode but unsafe)
     * @param keys the key secrets of an encrypted image and its backing chain ({@code encrypt.key-secret},
     *     {@code backing.encrypt.key-secret}), or null for none
     */
    public record Request(Path workDir, String filename, String format, String base, boolean drop,
                          boolean durable, dev.q2.crypto.ImageKeys keys) {
        /** A request without key secrets. */
        public Request(Path workDir, String filename, String format, String base, boolean drop, boolean durable) {
            this(workDir, filename, format, base, drop, durable, null);
        }
    }

    /** Progress: the share of the bytes to copy done so far, 0 to 100. */
    public interface Listener {
        void progress(float percent);
    }

    public static void commit(Request r, Listener listener, PrintWriter diagnostics) throws IOException {
        DiskOptions opt = DiskOptions.readWrite().withoutBacking().withDurable(r.durable()).withKeys(r.keys());
        boolean empty = false;
        try (TopImage top = TopImage.open(r.workDir(), r.filename(), r.format(), opt, diagnostics)) {
            listener.progress(0);
            if (top.isRaw()) {
                throw new ChainException("Image does not have a backing file");
            }
            BlockGraph g;
            try {
                // (the top's disk holds its lock)
                g = BlockGraph.openWithKeys(r.workDir(), r.filename(), "qcow2", true, false,
                        dev.q2.block.References.ALL, r.keys());
            } catch (IOException e) {
                throw new ChainException(OpenErrors.couldNotOpen(r.filename(), e), e);
            }
            try (g) {
                BlockGraph.Layer base = r.base() == null ? g.layer(1) : find(g, r.workDir(), r.base(), r.keys());
                if (base == null) {
                    throw new ChainException(r.base() == null ? "Image does not have a backing file"
                            : "Did not find '" + r.base() + "' in the backing chain of '" + r.filename() + "'");
                }
                copy(r, g, base, top.length(), listener);
            }
            if (!r.drop()) {
                boolean completely;
                try (Qcow2Metadata img = Qcow2Metadata.openMetadata(top.path)) {
                    completely = EmptyImage.completely(img);
                }
                if (completely) {
                    empty = true; // rebuilt once the engine has let go of the file
                } else {
                    top.disk.discardAllForMakeEmpty(); // with the image open once, as QEMU (bitmaps stored once)
                }
            }
        }
        if (empty) {
            makeEmpty(r);
        }
    }

    /**
     * bdrv_find_backing_image: the layer below the first layer whose backing file, and {@code name} taken relative
     * to that layer's folder, are the same file.
     */
    static BlockGraph.Layer find(BlockGraph g, Path workDir, String name) {
        return find(g, workDir, name, null);
    }

    /**
     * As {@link #find(BlockGraph, Path, String)}, for a chain opened with {@code keys}: a layer given a key secret
     * is never found, as in QEMU, where such a layer's name is a {@code json:} name (its options name the secret)
     * that is no file.
     */
    static BlockGraph.Layer find(BlockGraph g, Path workDir, String name, dev.q2.crypto.ImageKeys keys) {
        dev.q2.crypto.ImageKeys belowKeys = keys;
        for (int d = 0; ; d++) {
            BlockGraph.Layer cur = g.layer(d);
            BlockGraph.Layer below = g.layer(d + 1);
            if (cur == null || below == null) {
                return null;
            }
            belowKeys = belowKeys == null ? null : belowKeys.backing();
            if (belowKeys != null && belowKeys.keySecretId() != null) {
                continue;
            }
            Path wanted = realPath(workDir, ChildNames.backing(cur.filename(), name));
            Path backing = realPath(workDir, below.filename());
            if (wanted != null && wanted.equals(backing)) {
                return below;
            }
        }
    }

    private static Path realPath(Path workDir, String name) {
        try {
            return workDir.resolve(name).toRealPath();
        } catch (IOException e) {
            return null;
        }
    }

    private static void copy(Request r, BlockGraph g, BlockGraph.Layer base, long size, Listener listener)
            throws IOException {
        Path basePath = r.workDir().resolve(base.filename());
        boolean raw = base.format().equals("raw");
        if (size > base.length()) {
            grow(basePath, raw, size, r.durable());
        }
        BlockDevice reader = g.reader();
        if (raw) {
            try (ImageFile f = ImageFile.openReadWrite(basePath);
                 QemuLock lock = QemuLock.acquire(f.channel(), basePath, QemuLock.PERM_CONSISTENT_READ
                         | QemuLock.PERM_WRITE | QemuLock.PERM_RESIZE, QemuLock.PERM_ALL)) {
                walk(g, base.depth(), size, reader, f::writeFully, (offset, length) -> {
                    if (!f.punchHole(offset, length)) {
                        f.fillZeros(offset, offset + length);
                    }
                }, listener);
                if (r.durable()) {
                    f.flush();
                }
            }
            return;
        }
        dev.q2.crypto.ImageKeys baseKeys = r.keys();
        for (int d = 0; d < base.depth() && baseKeys != null; d++) {
            baseKeys = baseKeys.backing(); // the keys given for that layer of the chain
        }
        try (Qcow2Disk disk = Qcow2Disk.open(basePath, DiskOptions.readWrite().withDurable(r.durable())
                .withWorkDir(r.workDir()).withKeys(baseKeys))) {
            EngineTarget target = new EngineTarget(disk);
            walk(g, base.depth(), size, reader, target, target, listener);
            disk.flush();
        }
    }


    private static void walk(BlockGraph g, int baseDepth, long size, BlockDevice reader, GuestWriter t,
                             GuestWriter.Zeroes zeroes, Listener listener) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(BUF); // direct: no copy through a temporary buffer per read and write
        long offset = 0;
        listener.progress(0);
        while (offset < size) {
            long n = allocatedAbove(g, baseDepth, offset, size - offset);
            boolean allocated = n > 0;
            n = Math.abs(n);
            if (allocated) {
                for (long o = offset; o < offset + n; ) {
                    BlockStatus.Run s = g.statusAbove(o, offset + n - o);
                    long len = Math.min(s.length(), offset + n - o);
                    if (s.has(BlockStatus.ZERO)) {
                        zeroes.writeZeroes(o, len);
                    } else {
                        GuestWriter.copy(reader, o, o + len, o, buf, t);
                    }
                    o += len;
                }
            }
            offset += n;
            listener.progress((float) ((double) offset / size * 100));
        }
    }

    /**
     * bdrv_is_allocated_above(top, base, include_base = false): the length of the run from {@code offset}, positive
     * when a layer above the base allocates it, negative when none does.
     */
    static long allocatedAbove(BlockGraph g, int baseDepth, long offset, long bytes) throws IOException {
        long n = bytes;
        for (int d = 0; d < baseDepth; d++) {
            BlockGraph.Layer layer = g.layer(d);
            BlockStatus.Run run = layer.status(offset, bytes);
            if (run.has(BlockStatus.ALLOCATED)) {
                return run.length();
            }
            if (n > run.length() && (d == 0 || offset + run.length() < layer.length())) {
                n = run.length();
            }
        }
        return -n;
    }

    private static void grow(Path path, boolean raw, long size, boolean durable) throws IOException {
        try (ImageFile f = ImageFile.openReadWrite(path);
             QemuLock lock = QemuLock.acquire(f.channel(), path, QemuLock.PERM_CONSISTENT_READ
                     | QemuLock.PERM_WRITE | QemuLock.PERM_RESIZE, QemuLock.PERM_CONSISTENT_READ
                     | QemuLock.PERM_WRITE_UNCHANGED)) {
            if (raw) {
                f.setLength(size);
            } else {
                BaseGrowth.grow(f, size, durable);
            }
        }
    }

    /** QEMU's make_completely_empty of the top image, closed by now. */
    private static void makeEmpty(Request r) throws IOException {
        Path path = r.workDir().resolve(r.filename());
        try (ImageFile f = ImageFile.openReadWrite(path);
             QemuLock lock = QemuLock.acquire(f.channel(), path, QemuLock.PERM_CONSISTENT_READ
                     | QemuLock.PERM_WRITE | QemuLock.PERM_RESIZE, QemuLock.PERM_CONSISTENT_READ
                     | QemuLock.PERM_WRITE_UNCHANGED)) {
            EmptyImage.empty(f, r.durable());
        }
    }
}
