package dev.q2.image;

import dev.q2.cache.L2Cache;
import dev.q2.cache.L2CacheSizing;
import dev.q2.format.QcowHeader;
import dev.q2.io.ImageFile;
import dev.q2.io.QemuLock;
import dev.q2.util.Diagnostics;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HashSet;

/**
 * A qcow2 image as a guest disk: reads, writes, zero writes, discards and flushes at any guest offset, through an
 * LRU L2 cache, with the backing chain, an external data file, compressed clusters and extended L2 subclusters.
 * (Its metadata as loaded and validated on open, without guest I/O, is a {@link Qcow2Metadata}.)
 *
 * <p>Write ordering follows QEMU's rules so that a crash never leaves a reference to unwritten data or to a cluster
 * whose refcount does not count it: guest data is written before the L2 entry that points at it; refcounts of new
 * clusters are written before the L2 tables and L1 entries that reference them ({@link #flush}); references that
 * are dropped are written before the refcounts of the clusters they pointed to are decreased (frees are deferred to
 * the end of a flush). A crash in between leaves at most leaked clusters, which check -r leaks repairs.
 *
 * <p>Persistent dirty bitmaps ({@link PersistentBitmaps}): a read-write open marks the image's bitmaps in use before
 * any write, every write, zero write and discard sets their dirty bits, and {@link #close} stores them, as QEMU does;
 * a read-write open also clears unknown autoclear feature bits.
 *
 * <p>This class is the façade of the engine; the work is done by package-private parts cut as QEMU's qcow2 driver
 * is: {@link DiskOpener} (open), {@link ClusterMapper} (mapping), {@link ReadPath}, {@link BlockStatusReader},
 * {@link WritePath} (allocation and copy-on-write), {@link CompressedWriter} and {@link CompressedClusters},
 * {@link ZeroesAndDiscard}, {@link FlushOrder} with {@link DeferredFrees}, and {@link HeaderState} (dirty and
 * corrupt marking), over the shared {@link DiskState}.
 *
 * <p>Not thread-safe, except {@link #compressCluster}.
 */
public final class Qcow2Disk implements BlockDevice {
    private final DiskState disk;
    private final QemuLock lock;
    private final CompressedClusters compressed;
    private final ReadPath reads;
    private final BlockStatusReader status;
    private final WritePath writes;
    private final CompressedWriter compressedWrites;
    private final ZeroesAndDiscard zeroes;
    private final FlushOrder flushOrder;
    private final ClusterMapper mapper;
    /** The metadata as opened: the snapshot table, for {@link #loadSnapshot}. */
    private final Qcow2Metadata image;

    Qcow2Disk(Path path, ImageFile file, ImageFile dataFile, QemuLock lock, Qcow2Metadata image, DiskOptions options,
              BlockDevice backing) throws IOException {
        QcowHeader header = image.header();
        long clusterSize = header.clusterSize();
        long size = header.size() & ~511L;
        L2CacheSizing sizing = new L2CacheSizing(size, clusterSize, header.extendedL2());
        long capacity = options.l2CacheBytes() > 0 ? options.l2CacheBytes()
                : sizing.defaultCapacity(options.l2CacheMax());
        int sliceSize = options.l2CacheEntrySize() > 0 ? options.l2CacheEntrySize() : (int) clusterSize;
        if (sliceSize > clusterSize || sliceSize < 512 || Integer.bitCount(sliceSize) != 1) {
            throw new ImageException("L2 cache entry size must be a power of two between 512 and the cluster size");
        }
        this.lock = lock;
        this.disk = new DiskState(path, file, dataFile, image, options, backing, capacity, sliceSize);
        this.compressed = new CompressedClusters(disk, header.compressionType());
        DeferredFrees frees = new DeferredFrees(disk, compressed);
        ClusterMapper mapper = new ClusterMapper(disk, image.l1Table(), frees);
        this.mapper = mapper;
        this.image = image;
        this.reads = new ReadPath(disk, mapper, compressed);
        this.status = new BlockStatusReader(disk, mapper);
        this.writes = new WritePath(disk, mapper, reads, compressed, frees, status);
        this.compressedWrites = new CompressedWriter(disk, mapper, writes, compressed);
        this.zeroes = new ZeroesAndDiscard(disk, mapper, writes, status, frees, this);
        this.flushOrder = new FlushOrder(disk, mapper, frees);
        if (disk.refcounts != null) {
            FlushOrder order = flushOrder;
            disk.refcounts.onReuseOfHeld(new RefcountAllocator.FreesDurable() {
                @Override
                public void makeDurable() throws IOException {
                    order.flush(); // (an anonymous class, not a lambda: start-up, see DiskState)
                }
            });
        }
        Diagnostics.info(Qcow2Disk.class, "opened {} {}: {} bytes, {}-byte clusters{}, L2 cache {} bytes in {}-byte"
                + " entries{}", disk.writable ? "read-write" : "read-only", path, size, clusterSize,
                disk.extendedL2 ? " (extended L2)" : "", disk.l2Cache.capacityBytes(), disk.l2Cache.sliceSize(),
                backing != null ? ", with a backing file" : "");
    }

    /** The cipher of an encrypted image, set by the opener before any guest I/O. */
    void useCrypto(dev.q2.crypto.BlockCrypto crypto) {
        disk.crypto = crypto;
    }

    /**
     * Allocates clusters for a new crypto header area as QEMU's qcow2_crypto_hdr_init_func does, zero-fills them to
     * the cluster boundary and writes {@code area} at their start.
     *
     * @return the area's offset
     */
    long allocateHeaderArea(byte[] area) throws IOException {
        long offset = disk.refcounts.allocClusters(area.length);
        long clusterLen = (area.length + disk.clusterSize - 1) & -disk.clusterSize;
        disk.file.writeFully(offset, ByteBuffer.allocate((int) clusterLen));
        disk.file.writeFully(offset, ByteBuffer.wrap(area));
        return offset;
    }

    /** @return whether guest data is encrypted (and this disk holds its key) */
    public boolean encrypted() {
        return disk.crypto != null;
    }

    /** QEMU's read-write open: autoclear bits cleared, bitmaps loaded and marked in use before any write. */
    void loadBitmaps(Qcow2Metadata image) throws IOException {
        disk.bitmaps = PersistentBitmaps.open(disk.file, image, disk.refcounts, new PersistentBitmaps.Sync() {
            @Override
            public void sync() throws IOException {
                disk.sync(disk.file); // an anonymous class: no lambda at start-up (DiskState's constructor)
            }
        });
        disk.header.replace(disk.bitmaps.header());
    }

    /** Opens an image and, unless told otherwise, its backing chain. */
    public static Qcow2Disk open(Path path, DiskOptions opt) throws IOException {
        return open(path, opt, new PrintWriter(System.err, true));
    }

    /**
     * Opens an image as {@link #open(Path, DiskOptions)} does; what the repair of a dirty image opened for writing
     * prints (QEMU prints it to stderr) goes to {@code diagnostics}.
     */
    public static Qcow2Disk open(Path path, DiskOptions opt, PrintWriter diagnostics) throws IOException {
        return DiskOpener.open(path, opt, new HashSet<>(), diagnostics);
    }

    /**
     * Opens an image that lives in a {@link dev.q2.io.Storage} rather than a named file: no locks (they are a
     * file's), and no backing file or external data file, which are named relative to a file (an image that needs
     * one is refused unless {@code opt} skips the backing chain). Closing the disk closes the storage.
     *
     * @param storage the image's bytes; writable when {@code opt} is
     * @param opt how to open it
     * @param diagnostics where the repair of a dirty image opened for writing reports
     * @return the open disk
     * @throws IOException when the image is invalid or cannot be opened so
     */
    public static Qcow2Disk open(dev.q2.io.Storage storage, DiskOptions opt, PrintWriter diagnostics)
            throws IOException {
        return DiskOpener.open(storage, opt, diagnostics);
    }

    /**
     * Reads the internal snapshot {@code sn} instead of the active state from now on, as QEMU's
     * qcow2_snapshot_load_tmp (qemu-img convert -l): its L1 table replaces the active one; the size stays the
     * image's, and the backing chain is the image's. Only for a read-only open.
     *
     * @param sn one of this image's snapshots
     * @throws IOException when its L1 table is refused ({@link Qcow2Metadata.SnapshotL1Exception}) or unreadable
     */
    public void loadSnapshot(dev.q2.format.SnapshotEntry sn) throws IOException {
        if (disk.writable) {
            throw new ImageException("Device is not readonly");
        }
        mapper.useL1(image.snapshotL1Table(sn));
    }

    /** The persistent bitmaps of an image open for writing (null when read-only), for qemu-img bitmap's edits. */
    public PersistentBitmaps persistentBitmaps() {
        return disk.bitmaps;
    }

    public Path path() {
        return disk.path;
    }

    public QcowHeader header() {
        return disk.header.header();
    }

    @Override
    public BlockDevice backing() {
        return disk.backing;
    }

    @Override
    public long allocationUnit() {
        return disk.clusterSize;
    }

    /** Whether guest data lives in an external data file. */
    public boolean hasExternalDataFile() {
        return disk.externalData;
    }

    public L2Cache l2Cache() {
        return disk.l2Cache;
    }

    public EngineStats stats() {
        return disk.stats;
    }

    /** Bytes written to the image file and the data file so far (data, copy-on-write and metadata). */
    public long hostBytesWritten() {
        return disk.file.bytesWritten() + (disk.externalData ? disk.dataFile.bytesWritten() : 0);
    }

    @Override
    public long size() {
        return disk.size;
    }

    /** The file guest data lives in: the image file, or its external data file. */
    public ImageFile dataFile() {
        return disk.dataFile;
    }

    /**
     * The image's metadata for an operation on it as a whole (internal snapshots, {@code dev.q2.snapshot}); only
     * before any guest I/O on this disk, which is then closed without guest I/O (see {@link MetadataAccess}).
     */
    public MetadataAccess metadataAccess() {
        if (disk.stats.guestBytesRead != 0 || disk.stats.guestBytesWritten != 0 || disk.l2Cache.misses() != 0) {
            throw new IllegalStateException("metadata operations need a disk without guest I/O");
        }
        return new MetadataAccess(disk);
    }

    // ---------------------------------------------------------------- reads and block status

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        reads.read(offset, dst);
    }

    /**
     * Where guest bytes from {@code offset} live if they can be copied straight from the file: {host offset, length}
     * of the run of standard data clusters that follow each other in the image (or data) file, at most
     * {@code length}; null when the range does not start with such a cluster (zero, unallocated, compressed,
     * extended L2).
     */
    public long[] hostRun(long offset, long length) throws IOException {
        return reads.hostRun(offset, length);
    }

    /**
     * This layer's status as qcow2's block status gives it: a run of units of one kind (allocated ones at
     * consecutive host offsets) within one L2 table; a compressed cluster is a run of its own.
     */
    @Override
    public Layered layerStatus(long offset, long length) throws IOException {
        return status.layerStatus(offset, length);
    }

    // ---------------------------------------------------------------- writes

    /** Writes {@code src} at guest {@code offset}. */
    public void write(long offset, ByteBuffer src) throws IOException {
        writes.write(offset, src);
    }

    /**
     * Writes one whole guest cluster compressed (qemu-img convert -c); falls back to a normal write when the data
     * does not compress to less than a cluster. The cluster must not be allocated yet.
     */
    public void writeCompressed(long offset, byte[] cluster) throws IOException {
        writeCompressed(offset, cluster, null);
    }

    /**
     * {@link #writeCompressed(long, byte[])} with the cluster already compressed by {@link #compressCluster}
     * ({@code compressed}; null when it did not compress, or to compress it here).
     */
    public void writeCompressed(long offset, byte[] cluster, byte[] compressed) throws IOException {
        compressedWrites.writeCompressed(offset, cluster, compressed);
    }

    /**
     * Ends a series of compressed writes as qemu-img convert -c does, with an empty compressed write: QEMU's qcow2
     * driver then grows the file to a whole number of 512-byte sectors, so a file that ends with a compressed
     * cluster ends on a sector boundary.
     */
    public void finishCompressedWrites() throws IOException {
        compressedWrites.finishCompressedWrites();
    }

    /**
     * Compresses one whole cluster with the image's compression type, as {@link #writeCompressed} stores it:
     * the compressed bytes, or null when they would not be smaller than a cluster. Safe to call from several
     * threads at once (the codecs keep no state), so that clusters can be compressed ahead of their writes.
     */
    public byte[] compressCluster(byte[] cluster) throws IOException {
        return compressed.compress(cluster);
    }

    /**
     * Makes guest bytes [offset, offset+length) read as zeros. Whole clusters (whole subclusters with extended L2)
     * become zero entries without writing data, as QEMU does for version 3 images; what is left is written as
     * zeros. With {@code unmap}, whole clusters also give their host clusters back.
     */
    public void writeZeroes(long offset, long length, boolean unmap) throws IOException {
        zeroes.writeZeroes(offset, length, unmap);
    }

    /**
     * Discards guest bytes: whole clusters only, as QEMU (partial clusters are left as they are). On version 3
     * images a discarded cluster reads as zeros when there is a backing file or it was allocated; with {@code full}
     * it becomes unallocated (reads from the backing file).
     */
    public void discard(long offset, long length, boolean full) throws IOException {
        zeroes.discard(offset, length, full);
    }

    /**
     * QEMU's qcow2_make_empty fallback: every cluster of the disk becomes unallocated (a full discard), straight in
     * the driver, so persistent dirty bitmaps are not marked (qemu-img commit empties its top image this way when it
     * has snapshots, bitmaps, an external data file, or is version 2).
     */
    public void discardAllForMakeEmpty() throws IOException {
        zeroes.discardAllForMakeEmpty(flushOrder);
    }

    /**
     * QEMU's {@code lazy-refcounts} runtime option: with it, the image is marked dirty before its first write and
     * refcount blocks are written only when an L2 table is allocated and on close (not on flush); without it, the
     * image's own compatible feature bit decides.
     *
     * @param on whether to use lazy refcounts in this session
     * @throws ImageException on a version 2 image, which cannot have them
     */
    public void useLazyRefcounts(boolean on) throws ImageException {
        if (on && disk.header.version() < 3) {
            throw new ImageException("Lazy refcounts require a qcow2 image with at least qemu 1.1 compatibility"
                    + " level");
        }
        disk.header.useLazyRefcounts(on);
    }

    // ---------------------------------------------------------------- the VM state area

    /**
     * Where the VM state area starts (qcow2_vm_state_offset): guest offsets from the first L1 entry past the one
     * that maps the end of the virtual size, mapped by the active L1 table like the disk (which grows to reach it).
     *
     * @return the guest offset of the VM state area
     */
    public long vmStateOffset() {
        long perL1 = disk.clusterSize << disk.geometry.l2Bits();
        long index = (disk.header.header().size() + perL1 - 1) / perL1;
        return index * perL1;
    }

    /**
     * Writes {@code src} at {@code pos} of the VM state area (qcow2_save_vmstate, qemu-io's write -b): through the
     * write path beyond the virtual size, growing the L1 table as far as needed (after a flush, so that every entry
     * it copies is on disk), without persistent bitmaps.
     *
     * @param pos the offset in the VM state area
     * @param src the bytes
     * @throws IOException on an I/O error or an image that cannot be written
     */
    public void writeVmState(long pos, ByteBuffer src) throws IOException {
        long offset = vmStateOffset() + pos;
        long end = offset + src.remaining();
        long lastL1 = (end - 1) >>> (disk.clusterBits + disk.geometry.l2Bits());
        if (src.hasRemaining() && lastL1 >= mapper.l1Size()) {
            disk.header.requireUsable();
            disk.requireWritable();
            flush();
            mapper.growL1(lastL1 + 1);
        }
        long size = openVmStateWindow(end);
        try {
            writes.write(offset, src);
        } finally {
            closeVmStateWindow(size);
        }
    }

    /** Lets the engine reach guest offsets up to {@code end}, past the disk; returns the disk size to restore. */
    private long openVmStateWindow(long end) {
        long size = disk.size;
        disk.size = Math.max(size, end);
        disk.inVmState = true;
        return size;
    }

    private void closeVmStateWindow(long size) {
        disk.size = size;
        disk.inVmState = false;
    }

    /**
     * Reads the VM state area at {@code pos} into {@code dst} (qcow2_load_vmstate, qemu-io's read -b): what was
     * never written reads as zeros.
     *
     * @param pos the offset in the VM state area
     * @param dst filled to its limit
     * @throws IOException on an I/O error or corrupt metadata
     */
    public void readVmState(long pos, ByteBuffer dst) throws IOException {
        long offset = vmStateOffset() + pos;
        long size = openVmStateWindow(offset + dst.remaining());
        try {
            reads.read(offset, dst);
        } finally {
            closeVmStateWindow(size);
        }
    }

    // ---------------------------------------------------------------- flush and close

    /**
     * Makes everything written so far durable, in the order that keeps the image consistent after a crash:
     * refcounts, then L2 tables, then L1 entries, then the refcount decreases of clusters no longer referenced.
     */
    public void flush() throws IOException {
        flushOrder.flush();
    }

    @Override
    public void close() throws IOException {
        L2Cache l2 = disk.l2Cache;
        EngineStats stats = disk.stats;
        Diagnostics.info(Qcow2Disk.class, "closing {}: L2 cache {} hits, {} misses, {} bytes of L2 read; {} guest bytes"
                + " written, {} host bytes written, {} copied on write", disk.path, l2.hits(), l2.misses(),
                l2.bytesRead(), stats.guestBytesWritten, hostBytesWritten(), stats.cowBytes);
        try {
            if (disk.writable) {
                flush();
                if (disk.header.refcountsDeferred()) {
                    disk.refcounts.flush(); // lazy refcounts: the refcount blocks are written before the clean bit
                    disk.sync(disk.file);
                }
                if (disk.bitmaps != null) {
                    disk.header.replace(disk.bitmaps.store(disk.header.header()));
                }
                disk.header.markCleanIfDirtied();
            }
        } finally {
            DiskOpener.closeQuietly(disk.backing);
            if (lock != null) {
                lock.close();
            }
            if (disk.externalData) {
                disk.dataFile.close();
            }
            disk.file.close();
        }
    }

    /** Counters of what the engine did, for q2 bench. */
    public static final class EngineStats {
        public long guestBytesWritten;
        public long guestBytesRead;
        public long backingBytesRead;
        public long cowBytes;
    }
}
