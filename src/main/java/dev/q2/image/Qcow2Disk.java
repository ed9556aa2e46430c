package dev.q2.image;

import dev.q2.cache.L2Cache;
import dev.q2.cache.L2CacheSizing;
import dev.q2.compress.ClusterCodec;
import dev.q2.format.CompressedDescriptor;
import dev.q2.format.ChildNames;
import dev.q2.format.Features;
import dev.q2.format.L1Entry;
import dev.q2.format.L2Corruption;
import dev.q2.format.L2Entry;
import dev.q2.format.QcowHeader;
import dev.q2.format.SubclusterBitmap;
import dev.q2.format.SubclusterType;
import dev.q2.io.ImageFile;
import dev.q2.io.QemuLock;
import dev.q2.util.Diagnostics;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A qcow2 image as a guest disk: reads, writes, zero writes, discards and flushes at any guest offset, through an
 * LRU L2 cache, with the backing chain, an external data file, compressed clusters and extended L2 subclusters.
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
 * <p>Not thread-safe.
 */
public final class Qcow2Disk implements BlockDevice {
    private final Path path;
    private final ImageFile file;
    private final ImageFile dataFile;
    private final boolean externalData;
    private final QemuLock lock;
    private QcowHeader header;
    private final long[] l1;
    private final Set<Integer> dirtyL1 = new HashSet<>();
    private final boolean writable;
    private final boolean durable;
    private final L2Cache l2;
    private final RefcountAllocator refcounts;
    private final BlockDevice backing;
    private final List<long[]> pendingFrees = new ArrayList<>();
    private volatile ClusterCodec codec; // compressCluster may run on several threads
    private PersistentBitmaps bitmaps;

    private final int clusterBits;
    private final long cs;
    private final boolean ext;
    private final int l2Bits;
    private final long l2Entries;
    private final int entrySize;
    private final long subclusterSize;
    private final long size;

    private boolean markedDirty;
    /** A corruption was reported (QEMU reports one per image and session). */
    private boolean corruptionSignaled;
    /** The image was marked corrupt while open for writing: all further I/O fails, as QEMU's does. */
    private boolean unusable;
    private long compressedCacheHost = -1;
    private byte[] compressedCache;
    private final EngineStats stats = new EngineStats();

    private Qcow2Disk(Path path, ImageFile file, ImageFile dataFile, QemuLock lock, Qcow2Image img,
                      DiskOptions opt, BlockDevice backing) throws IOException {
        this.path = path;
        this.file = file;
        this.dataFile = dataFile;
        this.externalData = dataFile != file;
        this.lock = lock;
        this.header = img.header();
        this.l1 = img.l1Table().clone();
        this.writable = opt.writable();
        this.durable = opt.durable();
        this.backing = backing;
        this.clusterBits = header.clusterBits();
        this.cs = header.clusterSize();
        this.ext = header.extendedL2();
        this.l2Bits = header.l2Bits();
        this.l2Entries = 1L << l2Bits;
        this.entrySize = header.l2EntrySize();
        this.subclusterSize = ext ? cs / SubclusterBitmap.SUBCLUSTERS : cs;
        this.size = header.size() & ~511L; // QEMU's qcow2 driver counts whole sectors of the virtual size
        L2CacheSizing sizing = new L2CacheSizing(size, cs, ext);
        long capacity = opt.l2CacheBytes() > 0 ? opt.l2CacheBytes() : sizing.defaultCapacity(opt.l2CacheMax());
        int slice = opt.l2CacheEntrySize() > 0 ? opt.l2CacheEntrySize() : (int) cs;
        if (slice > cs || slice < 512 || Integer.bitCount(slice) != 1) {
            throw new ImageException("L2 cache entry size must be a power of two between 512 and the cluster size");
        }
        // QEMU's block layer reads past the end of a file as zeros: an L2 table there is an unallocated one
        this.l2 = new L2Cache(capacity, slice, (off, b) -> file.readZeroFilled(off, b), this::writeL2Slice);
        this.refcounts = writable ? new RefcountAllocator(file, clusterBits, header.refcountOrder(),
                header.refcountTableOffset(), img.refcountTable()) : null;
        if (refcounts != null) {
            refcounts.onCorruption(this::corrupt);
        }
        Diagnostics.info(Qcow2Disk.class, "opened {} {}: {} bytes, {}-byte clusters{}, L2 cache {} bytes in {}-byte"
                + " entries{}", writable ? "read-write" : "read-only", path, size, cs, ext ? " (extended L2)" : "",
                l2.capacityBytes(), l2.sliceSize(), backing != null ? ", with a backing file" : "");
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
        return open(path, opt, new HashSet<>(), diagnostics);
    }

    private static Qcow2Disk open(Path path, DiskOptions opt, Set<Path> chain) throws IOException {
        return open(path, opt, chain, new PrintWriter(System.err, true)); // backing files open read-only
    }

    private static Qcow2Disk open(Path path, DiskOptions opt, Set<Path> chain, PrintWriter diagnostics)
            throws IOException {
        Path canonical = path.toAbsolutePath().normalize();
        if (!chain.add(canonical)) {
            throw new ImageException("Backing file '" + path + "' creates an infinite loop.");
        }
        ImageFile f = opt.writable() ? ImageFile.openReadWrite(path) : ImageFile.openReadOnly(path);
        QemuLock lock = null;
        ImageFile data = f;
        BlockDevice backing = null;
        try {
            if (opt.writable()) {
                lock = QemuLock.acquire(f.channel(), path, QemuLock.PERM_CONSISTENT_READ | QemuLock.PERM_WRITE
                        | QemuLock.PERM_RESIZE, QemuLock.PERM_CONSISTENT_READ | QemuLock.PERM_WRITE_UNCHANGED);
            } else if (!opt.forceShare()) {
                lock = QemuLock.acquire(f.channel(), path, QemuLock.PERM_CONSISTENT_READ,
                        QemuLock.PERM_ALL & ~(QemuLock.PERM_WRITE | QemuLock.PERM_RESIZE));
            }
            Qcow2Image img = Qcow2Image.load(f);
            QcowHeader h = img.header();
            if (opt.writable() && h.hasFeature(Features.INCOMPAT_CORRUPT)) {
                throw new ImageException("qcow2: Image is corrupt; cannot be opened read/write");
            }
            if (opt.writable() && h.hasFeature(Features.INCOMPAT_DIRTY)) {
                // as QEMU: a dirty image opened for writing is checked and repaired (-r all) first
                OpenRepair repair = OpenRepair.find();
                if (repair == null) {
                    throw new ImageException("Image is dirty (lazy refcounts were in use when it was last closed);"
                            + " repair it first with 'q2 check -r all' or 'qemu-img check -r all'");
                }
                repair.repairDirty(f, diagnostics);
                img = Qcow2Image.load(f);
                h = img.header();
            }
            if (h.hasFeature(Features.INCOMPAT_DATA_FILE)) {
                String name = img.dataFile(); // never null here: Qcow2Image.load refuses that
                if (name.isEmpty()) {
                    throw new ImageException("The 'file' block driver requires a file name"); // as QEMU says it
                }
                Path dp = ChildNames.dataFile(opt.workFolder(), name); // the working folder's, as QEMU's
                try {
                    data = opt.writable() ? ImageFile.openReadWrite(dp) : ImageFile.openReadOnly(dp);
                } catch (IOException e) {
                    throw new ImageException(dev.q2.block.OpenErrors.couldNotOpen(name, e), e); // the child's words
                }
            }
            String bf = img.backingFile();
            if (opt.openBacking() && bf != null && !bf.isEmpty()) {
                Path bp = Path.of(ChildNames.backing(path.toString(), bf));
                backing = openBacking(bp, img.backingFormat(), opt, chain);
            }
            Qcow2Disk disk = new Qcow2Disk(path, f, data, lock, img, opt, backing);
            if (opt.writable()) {
                // QEMU's read-write open: autoclear bits cleared, bitmaps loaded and marked in use before any write
                disk.bitmaps = PersistentBitmaps.open(f, img, disk.refcounts, () -> disk.sync(f));
                disk.header = disk.bitmaps.header();
            }
            return disk;
        } catch (IOException | RuntimeException e) {
            closeQuietly(backing);
            if (data != f) {
                data.close();
            }
            if (lock != null) {
                lock.close();
            }
            f.close();
            throw e;
        }
    }

    private static BlockDevice openBacking(Path bp, String fmt, DiskOptions opt, Set<Path> chain)
            throws IOException {
        DiskOptions ro = new DiskOptions(false, opt.forceShare(), 0, opt.l2CacheMax(), 0, true, true,
                opt.workDir());
        String format = fmt;
        if (format == null) {
            format = Devices.probe(bp);
        }
        try {
            if (format.equals("qcow2")) {
                try {
                    return open(bp, ro, chain);
                } catch (ImageException e) {
                    throw new ImageException("Could not open backing file: " + e.getMessage(), e);
                }
            }
            if (format.equals("raw")) {
                return Devices.openRead(bp, "raw", opt.forceShare(), opt.workDir()); // locked as QEMU locks it
            }
        } catch (java.nio.file.NoSuchFileException e) {
            throw new ImageException("Could not open backing file '" + bp + "': No such file or directory");
        }
        throw new ImageException("Could not open backing file: "
                + (dev.q2.probe.FormatProber.FOREIGN.contains(format) ? dev.q2.probe.FormatProber.cannotRead(format)
                : "Unknown driver '" + format + "'"));
    }

    private static void closeQuietly(BlockDevice d) {
        if (d != null) {
            try {
                d.close();
            } catch (IOException e) {
                // already failing; the first error is the one to report
            }
        }
    }

    public Path path() {
        return path;
    }

    public QcowHeader header() {
        return header;
    }

    @Override
    public BlockDevice backing() {
        return backing;
    }

    @Override
    public long allocationUnit() {
        return cs;
    }

    /** Whether guest data lives in an external data file. */
    public boolean hasExternalDataFile() {
        return externalData;
    }

    public L2Cache l2Cache() {
        return l2;
    }

    public EngineStats stats() {
        return stats;
    }

    /** Bytes written to the image file and the data file so far (data, copy-on-write and metadata). */
    public long hostBytesWritten() {
        return file.bytesWritten() + (externalData ? dataFile.bytesWritten() : 0);
    }

    @Override
    public long size() {
        return size;
    }

    // ---------------------------------------------------------------- L2 access

    /** Where an L2 entry lives: its table, the cache slice holding it, and its byte position in that slice. */
    private record Slot(long l2Offset, long sliceOffset, int pos) {
    }

    private Slot slot(long l2Offset, long clusterIndex) {
        long byteInTable = (clusterIndex & (l2Entries - 1)) * entrySize;
        int slice = l2.sliceSize();
        long sliceOffset = l2Offset + (byteInTable / slice) * slice;
        return new Slot(l2Offset, sliceOffset, (int) (byteInTable % slice));
    }

    private long l2OffsetFor(long clusterIndex) {
        long l1Index = clusterIndex >>> l2Bits;
        if (l1Index >= l1.length) {
            return 0;
        }
        return L1Entry.l2Offset(l1[(int) l1Index]);
    }

    /** Entry and bitmap of a guest cluster; {0, 0} where no L2 table exists. */
    private long[] lookup(long clusterIndex) throws IOException {
        long l2Offset = l2OffsetFor(clusterIndex);
        if (l2Offset == 0) {
            return new long[] {0, 0};
        }
        String bad = L2Corruption.l2Table(l2Offset, clusterIndex >>> l2Bits, cs);
        if (bad != null) {
            throw corrupt(bad);
        }
        Slot s = slot(l2Offset, clusterIndex);
        ByteBuffer b = l2.get(s.sliceOffset());
        return new long[] {b.getLong(s.pos()), ext ? b.getLong(s.pos() + 8) : 0};
    }

    /**
     * {@link #lookup} for a read or block-status query that starts at this cluster: an entry QEMU finds corrupt
     * there fails it (see {@link L2Corruption#entry}).
     */
    private long[] checkedLookup(long clusterIndex) throws IOException {
        long[] e = lookup(clusterIndex);
        String bad = corruption(clusterIndex, e);
        if (bad != null) {
            throw corrupt(bad);
        }
        return e;
    }

    /** What QEMU finds corrupt in the looked-up entry {@code e} of a guest cluster; null when nothing. */
    private String corruption(long clusterIndex, long[] e) {
        if (e[0] == 0 && e[1] == 0) {
            return null;
        }
        return L2Corruption.entry(e[0], e[1], clusterIndex << clusterBits, l2OffsetFor(clusterIndex),
                (int) (clusterIndex & (l2Entries - 1)), header.version(), ext, externalData, cs);
    }

    /**
     * QEMU's qcow2_signal_corruption: on an image open for writing the corrupt bit is set and all further I/O on the
     * disk fails ({@link DiskUnusableException}); read-only, only the request fails. The first event is the one
     * reported.
     */
    private CorruptMetadataException corrupt(String message) {
        boolean first = !corruptionSignaled;
        corruptionSignaled = true;
        if (!writable) {
            return new CorruptMetadataException(message, false, first);
        }
        unusable = true;
        CorruptMetadataException e = new CorruptMetadataException(message, true, true);
        try {
            writeIncompatibleFeatures(header.incompatibleFeatures() | Features.INCOMPAT_CORRUPT);
        } catch (IOException | RuntimeException io) {
            e.addSuppressed(io);
        }
        return e;
    }

    private void requireUsable() throws IOException {
        if (unusable) {
            throw new DiskUnusableException();
        }
    }

    /** Makes the L2 table of a guest cluster exist and be exclusively ours (allocating or copying it). */
    private long writableL2(long clusterIndex) throws IOException {
        int l1Index = (int) (clusterIndex >>> l2Bits);
        if (l1Index >= l1.length) {
            throw new ImageException("write beyond the end of the L1 table");
        }
        long e = l1[l1Index];
        long old = L1Entry.l2Offset(e);
        if (old != 0 && L1Entry.copied(e)) {
            return old;
        }
        long table = refcounts.allocClusters(cs);
        int slice = l2.sliceSize();
        for (long off = 0; off < cs; off += slice) {
            // Copy the old slice out before the new one enters the cache: fetching one may evict the other.
            byte[] content = null;
            if (old != 0) {
                ByteBuffer src = l2.get(old + off).duplicate();
                src.clear();
                content = new byte[slice];
                src.get(content);
            }
            ByteBuffer fresh = l2.getEmpty(table + off);
            if (content != null) {
                fresh.clear();
                fresh.put(content);
                fresh.clear();
            }
        }
        if (old != 0) {
            pendingFrees.add(new long[] {old, cs}); // the table was shared with a snapshot
        }
        l1[l1Index] = table | L1Entry.OFLAG_COPIED;
        dirtyL1.add(l1Index);
        return table;
    }

    private void setEntry(long l2Offset, long clusterIndex, long entry, long bitmap) throws IOException {
        Slot s = slot(l2Offset, clusterIndex);
        ByteBuffer b = l2.get(s.sliceOffset());
        b.putLong(s.pos(), entry);
        if (ext) {
            b.putLong(s.pos() + 8, bitmap);
        }
        l2.markDirty(s.sliceOffset());
    }

    /** L2 slices reach the disk only after the refcounts of what they reference. */
    private void writeL2Slice(long offset, ByteBuffer data) throws IOException {
        if (refcounts != null) {
            refcounts.flush();
        }
        file.writeFully(offset, data);
    }

    private L2Entry.Type type(long entry) {
        return L2Entry.type(entry, ext, externalData);
    }

    // ---------------------------------------------------------------- reads

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        requireUsable();
        long pos = offset;
        while (dst.hasRemaining()) {
            if (pos >= size) {
                zero(dst, dst.remaining());
                return;
            }
            long ci = pos >>> clusterBits;
            int inC = (int) (pos & (cs - 1));
            int n = (int) Math.min(Math.min(dst.remaining(), cs - inC), size - pos);
            int run = contiguousHostRun(ci, inC, n, Math.min(dst.remaining(), size - pos));
            if (run > n) {
                // several standard clusters back to back in the file: one read instead of one per cluster
                readHost(L2Entry.hostOffset(lookup(ci)[0]) + inC, run, dst);
                n = run;
            } else {
                readInCluster(ci, inC, n, dst);
            }
            pos += n;
            stats.guestBytesRead += n;
        }
    }

    /**
     * Where guest bytes from {@code offset} live if they can be copied straight from the file: {host offset, length}
     * of the run of standard data clusters that follow each other in the image (or data) file, at most
     * {@code length}; null when the range does not start with such a cluster (zero, unallocated, compressed,
     * extended L2).
     */
    public long[] hostRun(long offset, long length) throws IOException {
        requireUsable();
        if (ext || offset >= size) {
            return null;
        }
        long ci = offset >>> clusterBits;
        int inC = (int) (offset & (cs - 1));
        long[] e = checkedLookup(ci);
        if (type(e[0]) != L2Entry.Type.NORMAL) {
            return null;
        }
        long limit = Math.min(length, size - offset);
        int first = (int) Math.min(cs - inC, limit);
        long run = contiguousHostRun(ci, inC, first, limit);
        return new long[] {L2Entry.hostOffset(e[0]) + inC, run};
    }

    /** The file guest data lives in: the image file, or its external data file. */
    public ImageFile dataFile() {
        return dataFile;
    }

    /**
     * Bytes from guest cluster {@code ci} (offset {@code inC}) that can be read with one host read: the run of
     * fully allocated standard clusters whose host clusters follow each other, at most {@code limit} bytes.
     */
    private int contiguousHostRun(long ci, int inC, int first, long limit) throws IOException {
        if (ext || first != cs - inC || limit <= first) {
            return first;
        }
        // the clusters after the first join the run only when they are aligned data clusters where QEMU expects
        long[] e = checkedLookup(ci);
        if (type(e[0]) != L2Entry.Type.NORMAL) {
            return first;
        }
        long host = L2Entry.hostOffset(e[0]);
        long run = first;
        long next = ci + 1;
        while (run < limit && run < (8L << 20)) {
            long[] n = lookup(next);
            if (type(n[0]) != L2Entry.Type.NORMAL || L2Entry.hostOffset(n[0]) != host + (next - ci) * cs) {
                break;
            }
            run += Math.min(cs, limit - run);
            next++;
        }
        return (int) run;
    }

    private void readInCluster(long ci, int inC, int n, ByteBuffer dst) throws IOException {
        long[] e = checkedLookup(ci);
        long entry = e[0];
        L2Entry.Type type = type(entry);
        long guest = (ci << clusterBits) + inC;
        if (type == L2Entry.Type.COMPRESSED) {
            byte[] c = decompressed(entry);
            dst.put(c, inC, n);
            return;
        }
        if (!ext) {
            switch (type) {
                case NORMAL -> readHost(L2Entry.hostOffset(entry) + inC, n, dst);
                case ZERO_PLAIN, ZERO_ALLOC -> zero(dst, n);
                default -> readUnallocated(guest, n, dst);
            }
            return;
        }
        long bitmap = e[1];
        int at = inC;
        int end = inC + n;
        while (at < end) {
            int sc = (int) (at / subclusterSize);
            int status = subclusterStatus(bitmap, sc);
            int runEnd = at;
            int s = sc;
            while (s < SubclusterBitmap.SUBCLUSTERS && subclusterStatus(bitmap, s) == status) {
                s++;
            }
            runEnd = (int) Math.min(end, (long) s * subclusterSize);
            int len = runEnd - at;
            if (status == 1) {
                long host = L2Entry.hostOffset(entry);
                if (host == 0 && type != L2Entry.Type.NORMAL) {
                    throw new ImageException("subcluster allocated in a cluster without a host offset; the image"
                            + " is corrupt (run 'q2 check')");
                }
                readHost(host + at, len, dst);
            } else if (status == 2) {
                zero(dst, len);
            } else {
                readUnallocated((ci << clusterBits) + at, len, dst);
            }
            at = runEnd;
        }
    }

    /** 1 allocated, 2 zero, 0 unallocated (the zero bit wins over nothing, allocation over zero as QEMU reads). */
    private static int subclusterStatus(long bitmap, int sc) {
        if (SubclusterBitmap.zero(bitmap, sc)) {
            return 2;
        }
        return SubclusterBitmap.allocated(bitmap, sc) ? 1 : 0;
    }

    /** Guest data from the file; as in QEMU's block layer, what lies past the end of the file reads as zeros. */
    private void readHost(long host, int n, ByteBuffer dst) throws IOException {
        ByteBuffer part = dst.slice();
        part.limit(n);
        dataFile.readZeroFilled(host, part);
        dst.position(dst.position() + n);
    }

    private void readUnallocated(long guest, int n, ByteBuffer dst) throws IOException {
        if (backing == null || guest >= backing.size()) {
            zero(dst, n);
            return;
        }
        int fromBacking = (int) Math.min(n, backing.size() - guest);
        ByteBuffer part = dst.slice();
        part.limit(fromBacking);
        backing.read(guest, part);
        dst.position(dst.position() + fromBacking);
        zero(dst, n - fromBacking);
        stats.backingBytesRead += fromBacking;
    }

    private static final byte[] ZEROS = new byte[64 << 10];

    private static void zero(ByteBuffer dst, int n) {
        while (n > 0) {
            int k = Math.min(n, ZEROS.length);
            dst.put(ZEROS, 0, k); // in bulk: a byte at a time made reads of unallocated megabytes CPU-bound
            n -= k;
        }
    }

    private byte[] decompressed(long entry) throws IOException {
        CompressedDescriptor d = CompressedDescriptor.decode(entry, clusterBits);
        if (d.hostOffset() == compressedCacheHost) {
            return compressedCache;
        }
        long start = d.hostOffset();
        long end = d.endOffset();
        long len = Math.min(end - start, Math.max(0, dataFile.size() - start));
        if (len <= 0 || end - start > 2 * cs + 512) {
            throw new ImageException("compressed cluster at offset " + start + " lies outside the image");
        }
        ByteBuffer in = ByteBuffer.allocate((int) len);
        dataFile.readFully(start, in);
        byte[] out = new byte[(int) cs];
        codec().decompress(in.array(), (int) len, out, (int) cs);
        compressedCacheHost = start;
        compressedCache = out;
        return out;
    }

    private ClusterCodec codec() {
        if (codec == null) {
            codec = ClusterCodec.forType(header.compressionType());
        }
        return codec;
    }

    /* Kinds of allocation unit (a cluster, or a subcluster with extended L2), as QEMU tells them apart. */
    private static final int U_UNALLOCATED = 0;
    private static final int U_UNALLOCATED_ALLOC = 1;
    private static final int U_NORMAL = 2;
    private static final int U_ZERO_PLAIN = 3;
    private static final int U_ZERO_ALLOC = 4;
    private static final int U_COMPRESSED = 5;
    /** A unit whose entry QEMU finds corrupt, met after the first unit of a query: the run ends before it. */
    private static final int U_CORRUPT = 6;

    /**
     * The kind of the unit holding guest offset {@code guest}, and its host offset (-1 where it has none). As in
     * QEMU's qcow2_get_host_offset, the first unit of a query fails on any corruption of its entry, later ones only
     * on an invalid subcluster bitmap (the others end the run, and the next query fails).
     */
    private long[] unitAt(long guest, boolean first) throws IOException {
        long ci = guest >>> clusterBits;
        long[] e = first ? checkedLookup(ci) : lookup(ci);
        if (!first && (guest & (cs - 1)) == 0) { // later subclusters of a cluster: its entry is checked already
            String bad = corruption(ci, e);
            if (bad != null) {
                if (SubclusterType.of(e[0], e[1], 0, ext, externalData) == SubclusterType.INVALID) {
                    throw corrupt(bad);
                }
                return new long[] {U_CORRUPT, -1};
            }
        }
        L2Entry.Type t = type(e[0]);
        long host = L2Entry.hostOffset(e[0]);
        if (t == L2Entry.Type.COMPRESSED) {
            return new long[] {U_COMPRESSED, -1};
        }
        if (!ext) {
            return switch (t) {
                case NORMAL -> new long[] {U_NORMAL, host};
                case ZERO_ALLOC -> new long[] {U_ZERO_ALLOC, host};
                case ZERO_PLAIN -> new long[] {U_ZERO_PLAIN, -1};
                default -> new long[] {U_UNALLOCATED, -1};
            };
        }
        int sc = (int) ((guest & (cs - 1)) / subclusterSize);
        boolean hasHost = t == L2Entry.Type.NORMAL || t == L2Entry.Type.ZERO_ALLOC;
        long scHost = hasHost ? host + sc * subclusterSize : -1;
        return switch (subclusterStatus(e[1], sc)) {
            case 1 -> new long[] {U_NORMAL, scHost};
            case 2 -> hasHost ? new long[] {U_ZERO_ALLOC, scHost} : new long[] {U_ZERO_PLAIN, -1};
            default -> hasHost ? new long[] {U_UNALLOCATED_ALLOC, scHost} : new long[] {U_UNALLOCATED, -1};
        };
    }

    /**
     * This layer's status as qcow2's block status gives it: a run of units of one kind (allocated ones at
     * consecutive host offsets) within one L2 table; a compressed cluster is a run of its own.
     */
    @Override
    public Layered layerStatus(long offset, long length) throws IOException {
        requireUsable();
        if (offset >= size) {
            return new Layered(length, Kind.ZERO);
        }
        long unit = ext ? subclusterSize : cs;
        long tableSpan = cs << l2Bits;
        long end = Math.min(Math.min(offset + length, size), (offset / tableSpan + 1) * tableSpan);
        long[] first = unitAt(offset, true);
        long firstUnit = offset - offset % unit;
        long pos = firstUnit + unit;
        while (pos < end && first[0] != U_COMPRESSED) {
            long[] next = unitAt(pos, false);
            if (next[0] != first[0] || (first[1] >= 0 && next[1] != first[1] + (pos - firstUnit))) {
                break;
            }
            pos += unit;
        }
        long len = Math.min(pos, end) - offset;
        Kind kind = switch ((int) first[0]) {
            case U_NORMAL, U_COMPRESSED -> Kind.DATA;
            case U_ZERO_PLAIN, U_ZERO_ALLOC -> Kind.ZERO;
            default -> backing == null || offset >= backing.size() ? Kind.ZERO : Kind.BACKING;
        };
        return new Layered(len, kind);
    }

    /** Whether guest bytes [offset, offset+len) certainly read as zeros, by block status through the chain. */
    private boolean readsAsZero(long offset, long len) throws IOException {
        long left = Math.min(len, size - offset);
        long pos = offset;
        while (left > 0) {
            Layered l = BlockDevice.chainStatus(this, pos, left);
            if (l.kind() != Kind.ZERO || l.length() <= 0) {
                return false;
            }
            pos += l.length();
            left -= l.length();
        }
        return true;
    }

    // ---------------------------------------------------------------- writes

    private void requireWritable() throws IOException {
        if (!writable) {
            throw new ImageException("the image is open read-only");
        }
    }

    private void checkRange(long offset, long length) throws IOException {
        if (offset < 0 || length < 0 || offset + length > size) {
            throw new ImageException("request at offset " + offset + " length " + length
                    + " is outside the disk (" + size + " bytes)");
        }
    }

    private void markDirtyIfLazy() throws IOException {
        if (!markedDirty && (header.compatibleFeatures() & Features.COMPAT_LAZY_REFCOUNTS) != 0) {
            // QEMU sets the dirty bit before the first write of a lazy-refcounts image and clears it on close.
            writeIncompatibleFeatures(header.incompatibleFeatures() | Features.INCOMPAT_DIRTY);
            markedDirty = true;
        }
    }

    private void writeIncompatibleFeatures(long bits) throws IOException {
        if (header.version() < 3) {
            return;
        }
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putLong(bits);
        b.flip();
        file.writeFully(72, b);
        file.flush();
        header = header.withIncompatibleFeatures(bits);
    }

    /** Sets the dirty bits of the image's enabled persistent bitmaps for a write, zero write or discard. */
    private void markBitmaps(long offset, long length) throws IOException {
        if (bitmaps != null) {
            bitmaps.markDirty(offset, length);
        }
    }

    /** Writes {@code src} at guest {@code offset}. */
    public void write(long offset, ByteBuffer src) throws IOException {
        requireUsable();
        requireWritable();
        checkRange(offset, src.remaining());
        markBitmaps(offset, src.remaining());
        markDirtyIfLazy();
        stats.guestBytesWritten += src.remaining();
        long pos = offset;
        while (src.hasRemaining()) {
            long ci = pos >>> clusterBits;
            int inC = (int) (pos & (cs - 1));
            int whole = inC == 0 ? freshWholeClusters(ci, src.remaining()) : 0;
            int run = newAllocationRun(ci, inC, src.remaining());
            if (whole >= 2 && whole >= run) {
                writeFreshClusters(ci, whole, src);
                pos += (long) whole << clusterBits;
                continue;
            }
            if (run >= 2) {
                // QEMU's handle_alloc: every cluster of the request that needs a new host cluster, partial ones
                // included, gets one from a single contiguous allocation (the table first)
                writableL2(ci);
                long host = refcounts.allocClusters((long) run << clusterBits);
                for (int k = 0; k < run; k++) {
                    int a = k == 0 ? inC : 0;
                    int n = (int) Math.min(src.remaining(), cs - a);
                    ByteBuffer part = src.slice();
                    part.limit(n);
                    writeInCluster(ci + k, a, a + n, part, host + ((long) k << clusterBits));
                    src.position(src.position() + n);
                    pos += n;
                }
                continue;
            }
            int n = (int) Math.min(src.remaining(), cs - inC);
            ByteBuffer part = src.slice();
            part.limit(n);
            writeInCluster(ci, inC, inC + n, part, -1);
            src.position(src.position() + n);
            pos += n;
        }
    }

    /**
     * How many whole clusters from {@code ci} (within one L2 table, all covered by the write) have no host cluster
     * yet: those can be allocated together and written with one system call, with nothing to copy.
     */
    private int freshWholeClusters(long ci, long remaining) throws IOException {
        if (externalData || remaining < 2 * cs) {
            return 0;
        }
        long max = Math.min(remaining >>> clusterBits, l2Entries - (ci & (l2Entries - 1)));
        max = Math.min(max, (8L << 20) >>> clusterBits);
        int n = 0;
        while (n < max) {
            L2Entry.Type t = type(lookup(ci + n)[0]);
            if (t != L2Entry.Type.UNALLOCATED && t != L2Entry.Type.ZERO_PLAIN) {
                break;
            }
            n++;
        }
        return n;
    }

    /**
     * How many clusters from {@code ci} that the write of {@code remaining} bytes from {@code inC} touches (within
     * one L2 table) need a new host cluster, as QEMU counts them for one allocation (count_single_write_clusters):
     * unallocated, zero without a host cluster, compressed, or shared (no COPIED flag).
     */
    private int newAllocationRun(long ci, int inC, long remaining) throws IOException {
        if (externalData) {
            return 0;
        }
        long touched = (inC + remaining + cs - 1) >>> clusterBits;
        long max = Math.min(touched, l2Entries - (ci & (l2Entries - 1)));
        int n = 0;
        while (n < max) {
            long entry = lookup(ci + n)[0];
            L2Entry.Type t = type(entry);
            boolean needsNew = switch (t) {
                case NORMAL, ZERO_ALLOC -> !L2Entry.copied(entry);
                default -> true;
            };
            if (!needsNew) {
                break;
            }
            n++;
        }
        return n;
    }

    private void writeFreshClusters(long ci, int count, ByteBuffer src) throws IOException {
        long l2Offset = writableL2(ci); // the table first, then the data clusters, as QEMU allocates them
        long bytes = (long) count << clusterBits;
        long host = refcounts.allocClusters(bytes);
        ByteBuffer part = src.slice();
        part.limit((int) bytes);
        writeData(host, part);
        src.position(src.position() + (int) bytes);
        long bitmap = ext ? SubclusterBitmap.of(-1, 0) : 0;
        for (int k = 0; k < count; k++) {
            setEntry(l2Offset, ci + k, (host + ((long) k << clusterBits)) | L2Entry.OFLAG_COPIED, bitmap);
        }
    }

    /**
     * Writes guest bytes [a, b) of cluster {@code ci}; a cluster that needs a new host cluster gets {@code preHost}
     * when it is not negative (allocated with others of the same request), else one allocated here.
     */
    private void writeInCluster(long ci, int a, int b, ByteBuffer data, long preHost) throws IOException {
        long l2Offset = writableL2(ci);
        long[] e = lookup(ci);
        long entry = e[0];
        long bitmap = e[1];
        L2Entry.Type type = type(entry);
        long guestCluster = ci << clusterBits;
        boolean hasHost = type == L2Entry.Type.NORMAL || type == L2Entry.Type.ZERO_ALLOC;
        boolean inPlace = hasHost && (L2Entry.copied(entry) || externalData);
        if (inPlace && (L2Entry.hostOffset(entry) & (cs - 1)) != 0) {
            throw corrupt(L2Corruption.unalignedWrite(L2Entry.hostOffset(entry), guestCluster + a));
        }

        if (inPlace) {
            long host = L2Entry.hostOffset(entry);
            if (!ext) {
                if (type == L2Entry.Type.ZERO_ALLOC) {
                    writeCow(host, 0, a, zeros(a));
                    writeCow(host, b, (int) cs - b, zeros((int) cs - b));
                }
                writeData(host + a, data);
                setEntry(l2Offset, ci, host | L2Entry.OFLAG_COPIED, 0);
            } else {
                byte[][] edges = edgeCow(ci, entry, bitmap, a, b);
                writeEdges(host, a, b, edges);
                writeData(host + a, data);
                setEntry(l2Offset, ci, entry, touch(bitmap, a, b));
            }
            return;
        }

        long newHost = externalData ? guestCluster : preHost >= 0 ? preHost : refcounts.allocClusters(cs);
        if (!ext || type == L2Entry.Type.COMPRESSED) {
            // The whole cluster gets written: the old content around the new data, then the data.
            byte[] before = oldContent(ci, entry, bitmap, 0, a);
            byte[] after = oldContent(ci, entry, bitmap, b, (int) cs);
            writeCow(newHost, 0, a, before);
            writeCow(newHost, b, (int) cs - b, after);
            writeData(newHost + a, data);
            long newBitmap = ext ? SubclusterBitmap.of(-1, 0) : 0;
            setEntry(l2Offset, ci, newHost | L2Entry.OFLAG_COPIED, newBitmap);
        } else {
            // Extended L2: only the subclusters the write touches get data; the others keep their status. A
            // cluster shared with a snapshot brings its allocated subclusters along.
            long newBitmap = touch(bitmap, a, b);
            if (hasHost) {
                long oldHost = L2Entry.hostOffset(entry);
                for (int sc = 0; sc < SubclusterBitmap.SUBCLUSTERS; sc++) {
                    int sa = (int) (sc * subclusterSize);
                    int sb = (int) (sa + subclusterSize);
                    if (SubclusterBitmap.allocated(bitmap, sc) && (sb <= a || sa >= b)) {
                        ByteBuffer copy = ByteBuffer.allocate((int) subclusterSize);
                        dataFile.readFully(oldHost + sa, copy);
                        copy.flip();
                        stats.cowBytes += subclusterSize;
                        dataFile.writeFully(newHost + sa, copy);
                    }
                }
            }
            byte[][] edges = edgeCow(ci, entry, bitmap, a, b);
            writeEdges(newHost, a, b, edges);
            writeData(newHost + a, data);
            setEntry(l2Offset, ci, newHost | L2Entry.OFLAG_COPIED, newBitmap);
        }
        freeOld(entry, type);
    }

    /** Allocation bits set and zero bits cleared for every subcluster [a, b) touches. */
    private long touch(long bitmap, int a, int b) {
        int first = (int) (a / subclusterSize);
        int last = (int) ((b - 1) / subclusterSize);
        long range = 0;
        for (int sc = first; sc <= last; sc++) {
            range |= 1L << sc;
        }
        return (bitmap | range) & ~(range << 32);
    }

    /**
     * Copy-on-write for the partial subclusters at the edges of a write into an extended L2 cluster: the part of
     * the first and last touched subcluster outside [a, b), unless that subcluster is already allocated in place.
     */
    private byte[][] edgeCow(long ci, long entry, long bitmap, int a, int b) throws IOException {
        int firstSc = (int) (a / subclusterSize);
        int lastSc = (int) ((b - 1) / subclusterSize);
        int headStart = (int) (firstSc * subclusterSize);
        int tailEnd = (int) ((lastSc + 1) * subclusterSize);
        boolean inPlaceHost = type(entry) == L2Entry.Type.NORMAL && L2Entry.copied(entry);
        byte[] head = null;
        byte[] tail = null;
        if (a > headStart && !(inPlaceHost && SubclusterBitmap.allocated(bitmap, firstSc))) {
            head = oldContent(ci, entry, bitmap, headStart, a);
        }
        if (b < tailEnd && !(inPlaceHost && SubclusterBitmap.allocated(bitmap, lastSc))) {
            tail = oldContent(ci, entry, bitmap, b, tailEnd);
        }
        return new byte[][] {head, tail};
    }

    private void writeEdges(long host, int a, int b, byte[][] edges) throws IOException {
        if (edges[0] != null) {
            writeCow(host, a - edges[0].length, edges[0].length, edges[0]);
        }
        if (edges[1] != null) {
            writeCow(host, b, edges[1].length, edges[1]);
        }
    }

    /** What guest bytes [from, to) of cluster {@code ci} read as now (for copy-on-write). */
    private byte[] oldContent(long ci, long entry, long bitmap, int from, int to) throws IOException {
        byte[] out = new byte[Math.max(0, to - from)];
        if (out.length == 0) {
            return out;
        }
        L2Entry.Type type = type(entry);
        if (type == L2Entry.Type.COMPRESSED) {
            System.arraycopy(decompressed(entry), from, out, 0, out.length);
            return out;
        }
        long guest = (ci << clusterBits) + from;
        long visible = Math.max(0, Math.min(out.length, size - guest));
        ByteBuffer b = ByteBuffer.wrap(out);
        b.limit((int) visible);
        readInCluster(ci, from, (int) visible, b);
        return out;
    }

    private void writeCow(long host, int at, int len, byte[] content) throws IOException {
        if (len <= 0) {
            return;
        }
        ByteBuffer b = ByteBuffer.wrap(content, 0, len);
        stats.cowBytes += len;
        dataFile.writeFully(host + at, b);
    }

    private void writeData(long host, ByteBuffer data) throws IOException {
        dataFile.writeFully(host, data.duplicate());
    }

    private static byte[] zeros(int n) {
        return new byte[Math.max(0, n)];
    }

    /** Drops the reference an old entry held once its replacement is on disk (deferred to the flush). */
    private void freeOld(long entry, L2Entry.Type type) {
        if (externalData && type != L2Entry.Type.COMPRESSED) {
            return;
        }
        switch (type) {
            case NORMAL, ZERO_ALLOC -> {
                // QEMU does not free an unaligned cluster (it would drop the refcounts of two others): a leak
                if ((L2Entry.hostOffset(entry) & (cs - 1)) == 0) {
                    pendingFrees.add(new long[] {L2Entry.hostOffset(entry), cs});
                }
            }
            case COMPRESSED -> {
                CompressedDescriptor d = CompressedDescriptor.decode(entry, clusterBits);
                long start = d.hostOffset() & ~511L;
                pendingFrees.add(new long[] {start, d.endOffset() - start});
                if (d.hostOffset() == compressedCacheHost) {
                    compressedCacheHost = -1;
                }
            }
            default -> {
            }
        }
    }

    /**
     * Writes one whole guest cluster compressed (qemu-img convert -c); falls back to a normal write when the data
     * does not compress to less than a cluster. The cluster must not be allocated yet.
     */
    public void writeCompressed(long offset, byte[] cluster) throws IOException {
        writeCompressed(offset, cluster, null);
    }

    /**
     * Ends a series of compressed writes as qemu-img convert -c does, with an empty compressed write: QEMU's qcow2
     * driver then grows the file to a whole number of 512-byte sectors, so a file that ends with a compressed
     * cluster ends on a sector boundary.
     */
    public void finishCompressedWrites() throws IOException {
        requireWritable();
        long length = file.size();
        long aligned = (length + 511) & ~511L;
        if (aligned != length) {
            file.setLength(aligned);
        }
    }

    /**
     * Compresses one whole cluster with the image's compression type, as {@link #writeCompressed} stores it:
     * the compressed bytes, or null when they would not be smaller than a cluster. Safe to call from several
     * threads at once (the codecs keep no state), so that clusters can be compressed ahead of their writes.
     */
    public byte[] compressCluster(byte[] cluster) throws IOException {
        if (cluster.length != cs) {
            throw new IllegalArgumentException("compressed writes are whole clusters");
        }
        byte[] out = new byte[(int) cs - 1];
        int len = codec().compress(cluster, cluster.length, out);
        return len < 0 ? null : java.util.Arrays.copyOf(out, len);
    }

    /**
     * {@link #writeCompressed(long, byte[])} with the cluster already compressed by {@link #compressCluster}
     * ({@code compressed}; null when it did not compress, or to compress it here).
     */
    public void writeCompressed(long offset, byte[] cluster, byte[] compressed) throws IOException {
        requireUsable();
        requireWritable();
        if ((offset & (cs - 1)) != 0 || cluster.length != cs) {
            throw new IllegalArgumentException("compressed writes are whole, aligned clusters");
        }
        if (externalData) {
            throw new ImageException("Cannot compress into an image with an external data file");
        }
        markBitmaps(offset, Math.min(cs, size - offset));
        markDirtyIfLazy();
        long ci = offset >>> clusterBits;
        long l2Offset = writableL2(ci);
        long[] e = lookup(ci);
        L2Entry.Type type = type(e[0]);
        if (type != L2Entry.Type.UNALLOCATED && type != L2Entry.Type.ZERO_PLAIN) {
            write(offset, ByteBuffer.wrap(cluster));
            return;
        }
        byte[] out = compressed != null ? compressed : compressCluster(cluster);
        if (out == null) {
            write(offset, ByteBuffer.wrap(cluster));
            return;
        }
        int len = out.length;
        stats.guestBytesWritten += cs;
        long host = refcounts.allocBytes(len);
        dataFile.writeFully(host, ByteBuffer.wrap(out, 0, len));
        long sectors = ((host + len - 1) >>> 9) - (host >>> 9);
        long entry = new CompressedDescriptor(host, (int) sectors).encode(clusterBits);
        setEntry(l2Offset, ci, entry, 0);
    }

    /**
     * Makes guest bytes [offset, offset+length) read as zeros. Whole clusters (whole subclusters with extended L2)
     * become zero entries without writing data, as QEMU does for version 3 images; what is left is written as
     * zeros. With {@code unmap}, whole clusters also give their host clusters back.
     */
    public void writeZeroes(long offset, long length, boolean unmap) throws IOException {
        requireUsable();
        requireWritable();
        checkRange(offset, length);
        markBitmaps(offset, length);
        markDirtyIfLazy();
        stats.guestBytesWritten += length;
        long pos = offset;
        long end = offset + length;
        while (pos < end) {
            long ci = pos >>> clusterBits;
            int inC = (int) (pos & (cs - 1));
            long clusterEnd = Math.min((ci + 1) << clusterBits, end);
            int b = (int) (clusterEnd - (ci << clusterBits));
            boolean wholeCluster = inC == 0 && (b == cs || clusterEnd == size);
            if (header.version() >= 3 && wholeCluster) {
                zeroCluster(ci, unmap);
            } else if (header.version() < 3 && wholeCluster && backing == null) {
                discardCluster(ci, true); // v2 has no zero flag; without a backing file unallocated reads zero
            } else if (wholeCluster) {
                writeZeroBytes((ci << clusterBits) + inC, b - inC);
            } else {
                zeroInCluster(ci, inC, b, clusterEnd == size, unmap);
            }
            pos = clusterEnd;
        }
    }

    /**
     * Zeros part of a cluster as QEMU splits such a request: at subcluster boundaries (the zero-write alignment),
     * whole subclusters in the middle get zero bits, and a partial subcluster at either end becomes a zero
     * (sub)cluster only if the rest of it already reads as zeros and it holds no data; otherwise zeros are written.
     */
    private void zeroInCluster(long ci, int a, int b, boolean atDiskEnd, boolean unmap) throws IOException {
        int unit = (int) subclusterSize;
        int headEnd = Math.min(b, (a + unit - 1) / unit * unit);
        int tailStart = atDiskEnd ? b : Math.max(headEnd, b / unit * unit);
        if (a < headEnd) {
            zeroPartial(ci, a, headEnd, atDiskEnd && headEnd == b, unmap);
        }
        if (headEnd < tailStart) {
            if (header.version() >= 3 && ext && !isCompressed(ci)) {
                zeroSubclusters(ci, headEnd, tailStart);
            } else {
                writeZeroBytes((ci << clusterBits) + headEnd, tailStart - headEnd);
            }
        }
        if (tailStart < b) {
            zeroPartial(ci, tailStart, b, atDiskEnd, unmap);
        }
    }

    /** Zeros [a, b), which lies within one subcluster and does not cover it (qcow2_co_pwrite_zeroes). */
    private void zeroPartial(long ci, int a, int b, boolean atDiskEnd, boolean unmap) throws IOException {
        int unit = (int) subclusterSize;
        int sa = a - a % unit;
        int sb = sa + unit;
        long guest = ci << clusterBits;
        boolean sidesZero = readsAsZero(guest + sa, a - sa) && (atDiskEnd || readsAsZero(guest + b, sb - b));
        if (sidesZero) {
            int kind = (int) unitAt(guest + sa, true)[0];
            boolean noData = kind == U_UNALLOCATED || kind == U_UNALLOCATED_ALLOC || kind == U_ZERO_PLAIN
                    || kind == U_ZERO_ALLOC;
            if (noData && header.version() >= 3) {
                if (ext) {
                    zeroSubclusters(ci, sa, sb);
                } else {
                    zeroCluster(ci, unmap);
                }
                return;
            }
            if (noData && backing == null) {
                discardCluster(ci, true); // version 2 without a backing file: unallocated reads as zeros
                return;
            }
        }
        writeZeroBytes(guest + a, b - a);
    }

    private boolean isCompressed(long ci) throws IOException {
        return type(lookup(ci)[0]) == L2Entry.Type.COMPRESSED;
    }

    private void writeZeroBytes(long offset, long length) throws IOException {
        long guestBefore = stats.guestBytesWritten;
        write(offset, ByteBuffer.allocate((int) length));
        stats.guestBytesWritten = guestBefore;
    }

    private void zeroCluster(long ci, boolean unmap) throws IOException {
        long[] e = lookup(ci);
        L2Entry.Type type = type(e[0]);
        boolean drop = type == L2Entry.Type.COMPRESSED
                || unmap && (type == L2Entry.Type.NORMAL || type == L2Entry.Type.ZERO_ALLOC);
        long newEntry = drop ? 0 : e[0];
        long newBitmap = e[1];
        if (ext) {
            newBitmap = SubclusterBitmap.of(0, -1);
            if (drop) {
                newEntry = 0;
            }
        } else {
            newEntry |= L2Entry.OFLAG_ZERO;
        }
        if (newEntry == e[0] && newBitmap == e[1]) {
            return;
        }
        long l2Offset = writableL2(ci);
        setEntry(l2Offset, ci, newEntry, newBitmap);
        if (drop) {
            freeOld(e[0], type);
        }
    }

    private void zeroSubclusters(long ci, int a, int b) throws IOException {
        long l2Offset = writableL2(ci);
        long[] e = lookup(ci);
        int first = (int) (a / subclusterSize);
        int last = (int) ((b - 1) / subclusterSize);
        long range = 0;
        for (int sc = first; sc <= last; sc++) {
            range |= 1L << sc;
        }
        long bitmap = (e[1] & ~range) | (range << 32);
        setEntry(l2Offset, ci, e[0], bitmap);
    }

    /**
     * Discards guest bytes: whole clusters only, as QEMU (partial clusters are left as they are). On version 3
     * images a discarded cluster reads as zeros when there is a backing file or it was allocated; with {@code full}
     * it becomes unallocated (reads from the backing file).
     */
    public void discard(long offset, long length, boolean full) throws IOException {
        requireUsable();
        requireWritable();
        checkRange(offset, length);
        markBitmaps(offset, length); // QEMU marks the whole request, whatever part of it is discarded
        if (header.version() < 3 && backing != null) {
            return; // QEMU refuses: without a zero flag, discarding would expose the backing file's data
        }
        long first = (offset + cs - 1) >>> clusterBits;
        long endCluster = (offset + length) >>> clusterBits;
        if (offset + length == size && (size & (cs - 1)) != 0) {
            endCluster = (size + cs - 1) >>> clusterBits; // the partial cluster at the end of the disk counts
        }
        if (first >= endCluster) {
            return;
        }
        markDirtyIfLazy();
        for (long ci = first; ci < endCluster; ci++) {
            discardCluster(ci, full);
        }
    }

    /**
     * QEMU's qcow2_make_empty fallback: every cluster of the disk becomes unallocated (a full discard), straight in
     * the driver, so persistent dirty bitmaps are not marked (qemu-img commit empties its top image this way when it
     * has snapshots, bitmaps, an external data file, or is version 2).
     */
    public void discardAllForMakeEmpty() throws IOException {
        requireUsable();
        requireWritable();
        long end = (size + cs - 1) >>> clusterBits;
        if (end == 0) {
            return;
        }
        markDirtyIfLazy();
        for (long table = 0; table < end; table += l2Entries) {
            // QEMU's discard goes through get_cluster_table: a missing (or shared) L2 table is allocated first
            writableL2(table);
            int from = pendingFrees.size();
            for (long ci = table; ci < Math.min(end, table + l2Entries); ci++) {
                discardCluster(ci, true);
            }
            List<long[]> freed = new ArrayList<>(pendingFrees.subList(from, pendingFrees.size()));
            flush(); // the table before the refcount decreases, as QEMU's cache dependency orders them
            // QEMU passes these discards down (discard-snapshot): a cluster no longer referenced becomes a hole
            for (long[] f : freed) {
                for (long c = f[0] & ~(cs - 1); c < f[0] + f[1]; c += cs) {
                    if (refcounts.refcount(c >>> clusterBits) == 0) {
                        file.punchHole(c, cs);
                    }
                }
            }
        }
    }

    private void discardCluster(long ci, boolean full) throws IOException {
        if (l2OffsetFor(ci) == 0 && (full || backing == null)) {
            return;
        }
        long[] e = lookup(ci);
        L2Entry.Type type = type(e[0]);
        boolean allocated = type == L2Entry.Type.NORMAL || type == L2Entry.Type.ZERO_ALLOC
                || type == L2Entry.Type.COMPRESSED;
        long newEntry;
        long newBitmap = 0;
        if (full) {
            newEntry = 0;
        } else if (backing != null || allocated) {
            if (ext) {
                newEntry = 0;
                newBitmap = SubclusterBitmap.of(0, -1);
            } else {
                newEntry = header.version() >= 3 ? L2Entry.OFLAG_ZERO : 0;
            }
        } else {
            newEntry = 0;
        }
        if (newEntry == e[0] && newBitmap == e[1]) {
            return;
        }
        long l2Offset = writableL2(ci);
        setEntry(l2Offset, ci, newEntry, newBitmap);
        freeOld(e[0], type);
    }

    // ---------------------------------------------------------------- flush and close

    /**
     * Makes everything written so far durable, in the order that keeps the image consistent after a crash:
     * refcounts, then L2 tables, then L1 entries, then the refcount decreases of clusters no longer referenced.
     */
    public void flush() throws IOException {
        if (!writable) {
            return;
        }
        if (externalData) {
            sync(dataFile);
        }
        refcounts.flush();
        l2.flush();
        sync(file);
        for (int i : dirtyL1) {
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putLong(l1[i]);
            b.flip();
            file.writeFully(header.l1TableOffset() + 8L * i, b);
        }
        dirtyL1.clear();
        if (!pendingFrees.isEmpty()) {
            sync(file);
            for (long[] f : pendingFrees) {
                refcounts.addReferences(f[0], f[1], -1);
            }
            pendingFrees.clear();
            refcounts.flush();
        }
        sync(file);
    }

    private void sync(ImageFile f) throws IOException {
        if (durable) {
            f.flush();
        }
    }

    @Override
    public void close() throws IOException {
        Diagnostics.info(Qcow2Disk.class, "closing {}: L2 cache {} hits, {} misses, {} bytes of L2 read; {} guest bytes"
                + " written, {} host bytes written, {} copied on write", path, l2.hits(), l2.misses(), l2.bytesRead(),
                stats.guestBytesWritten, hostBytesWritten(), stats.cowBytes);
        try {
            if (writable) {
                flush();
                if (bitmaps != null) {
                    header = bitmaps.store(header);
                }
                if (markedDirty) {
                    writeIncompatibleFeatures(header.incompatibleFeatures() & ~Features.INCOMPAT_DIRTY);
                }
            }
        } finally {
            closeQuietly(backing);
            if (lock != null) {
                lock.close();
            }
            if (externalData) {
                dataFile.close();
            }
            file.close();
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
