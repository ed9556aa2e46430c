package dev.q2.image;

import dev.q2.cache.L2Cache;
import dev.q2.format.L2Geometry;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * Seam: the shared state of an open disk (QEMU's BDRVQcow2State): its files, geometry, L2 cache, refcounts, backing
 * file and counters, and the checks every request makes. The engine's parts each keep only their own state.
 */
final class DiskState {
    final Path path;
    /** The image file: header and metadata, and guest data unless there is an external data file. */
    final ImageFile file;
    /** The file guest data lives in: {@link #file}, or the external data file. */
    final ImageFile dataFile;
    final boolean externalData;
    final boolean writable;
    /** Whether flushes reach the disk (fsync); off for scratch images. */
    final boolean durable;
    final BlockDevice backing;
    final L2Geometry geometry;
    final int clusterBits;
    final long clusterSize;
    final boolean extendedL2;
    /** The unit an L2 entry maps: a subcluster with extended L2, else a cluster. */
    final long subclusterSize;
    /**
     * The guest disk size: QEMU's qcow2 driver counts whole sectors of the virtual size. Widened only while the VM
     * state area beyond it is read or written ({@link Qcow2Disk#writeVmState}).
     */
    long size;
    /** True while the VM state area is accessed: no persistent bitmap covers it. */
    boolean inVmState;
    final HeaderState header;
    final L2Cache l2Cache;
    /** Null on a read-only open. */
    final RefcountAllocator refcounts;
    final Qcow2Disk.EngineStats stats = new Qcow2Disk.EngineStats();
    /** The cipher of an encrypted image's guest data (QEMU's s->crypto); null when it is not encrypted. */
    dev.q2.crypto.BlockCrypto crypto;
    /** The image's persistent dirty bitmaps, loaded on a read-write open; null otherwise. */
    PersistentBitmaps bitmaps;

    DiskState(Path path, ImageFile file, ImageFile dataFile, Qcow2Metadata image, DiskOptions options,
              BlockDevice backing, long l2CacheCapacity, int l2SliceSize) {
        this.path = path;
        this.file = file;
        this.dataFile = dataFile;
        this.externalData = dataFile != file;
        this.writable = options.writable();
        this.durable = options.durable();
        this.backing = backing;
        this.header = new HeaderState(file, image.header(), writable);
        this.geometry = image.header().l2Geometry();
        this.clusterBits = geometry.clusterBits();
        this.clusterSize = geometry.clusterSize();
        this.extendedL2 = geometry.extendedL2();
        this.subclusterSize = geometry.subclusterSize();
        this.size = image.header().size() & ~511L;
        // QEMU's block layer reads past the end of a file as zeros: an L2 table there is an unallocated one
        // anonymous classes, not lambdas: on JDK 17 a run's first lambda bootstraps java.lang.invoke, a start-up
        // cost of every command that opens an image (docs/performance.md, "Session 5")
        this.l2Cache = new L2Cache(l2CacheCapacity, l2SliceSize, new L2Cache.Loader() {
            @Override
            public void load(long off, ByteBuffer b) throws IOException {
                file.readZeroFilled(off, b);
            }
        }, new L2Cache.Writer() {
            @Override
            public void write(long off, ByteBuffer b) throws IOException {
                writeL2Slice(off, b);
            }
        });
        this.refcounts = writable ? new RefcountAllocator(file, clusterBits, image.header().refcountOrder(),
                image.header().refcountTableOffset(), image.refcountTable()) : null;
        if (refcounts != null) {
            refcounts.onCorruption(new java.util.function.Function<String, CorruptMetadataException>() {
                @Override
                public CorruptMetadataException apply(String message) {
                    return header.corrupt(message);
                }
            });
        }
    }

    /**
     * Flush ordering: L2 slices reach the disk only after the refcounts of what they reference (not while lazy
     * refcounts defer them: see {@link HeaderState#refcountsDeferred}).
     */
    private void writeL2Slice(long offset, ByteBuffer data) throws IOException {
        if (refcounts != null && !header.refcountsDeferred()) {
            refcounts.flush();
        }
        file.writeFully(offset, data);
    }

    int version() {
        return header.version();
    }

    long clusterIndex(long guestOffset) {
        return guestOffset >>> clusterBits;
    }

    int offsetInCluster(long guestOffset) {
        return (int) (guestOffset & (clusterSize - 1));
    }

    long clusterStart(long clusterIndex) {
        return clusterIndex << clusterBits;
    }

    void requireWritable() throws IOException {
        if (!writable) {
            throw new ImageException("the image is open read-only");
        }
    }

    void checkRange(long offset, long length) throws IOException {
        if (offset < 0 || length < 0 || offset + length > size) {
            throw new ImageException("request at offset " + offset + " length " + length
                    + " is outside the disk (" + size + " bytes)");
        }
    }

    /** Sets the dirty bits of the image's enabled persistent bitmaps for a write, zero write or discard. */
    void markBitmaps(long offset, long length) throws IOException {
        if (bitmaps != null && !inVmState) {
            bitmaps.markDirty(offset, length);
        }
    }

    /** Checks every write, zero write and discard makes before it changes anything, in QEMU's order. */
    void beginModification(long offset, long length) throws IOException {
        header.requireUsable();
        requireWritable();
        checkRange(offset, length);
        markBitmaps(offset, length);
    }

    void sync(ImageFile f) throws IOException {
        if (durable) {
            f.flush();
        }
    }
}
