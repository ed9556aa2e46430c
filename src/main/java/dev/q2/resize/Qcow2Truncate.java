package dev.q2.resize;

import dev.q2.Q2Exception.Category;
import dev.q2.create.Preallocation;
import dev.q2.create.PreallocationMapper;
import dev.q2.format.CompressedDescriptor;
import dev.q2.format.L1Entry;
import dev.q2.format.L2Entry;
import dev.q2.format.QcowHeader;
import dev.q2.format.SubclusterBitmap;
import dev.q2.format.Limits;
import dev.q2.image.RefcountAllocator;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * QEMU's qcow2_co_truncate on an image open for writing, step by step as QEMU takes them, with QEMU's allocator, so
 * that the file is the one qemu-img resize leaves:
 *
 * <ul>
 * <li>grow: the active L1 table grown to exactly the new size (qcow2_grow_l1_table: a new table, the header switched
 * to it, the old one freed); new clusters zeroed when a longer backing file would otherwise show through; then the
 * preallocation of the new area;</li>
 * <li>shrink: every cluster past the new end discarded with its L2 entry (QEMU walks each L2 table of the range,
 * allocating the ones that do not exist), L1 entries past the end cleared and their L2 tables freed
 * (qcow2_shrink_l1_table; the header's l1_size stays), unused refcount blocks dropped (qcow2_shrink_reftable), the
 * file cut after its last used cluster;</li>
 * <li>finally the new size written into the header.</li>
 * </ul>
 *
 * <p>Crash safety: a new L2 table is written (after the refcounts that count it) before the L1 entry points to it; an
 * L2 table whose entries were cleared is written before the refcounts of what they referenced are decreased; the new
 * L1 table is written before the header points to it, and the old one freed after. A crash leaves at most leaks.
 *
 * <p>Close to 600 lines on purpose: grow and shrink follow qcow2_co_truncate step by step, and the write order above is
 * easier to check in one place. Its metadata preallocation allocates as create's does ({@link PreallocationMapper}),
 * over this class's L2 tables.
 */
final class Qcow2Truncate {
    private final ImageFile file;
    private final ImageFile dataFile;
    private final RefcountAllocator refcounts;
    private final Sync sync;
    private final int clusterBits;
    private final long cs;
    private final boolean ext;
    private final int entrySize;
    private final long l2Entries;
    private final int l2Bits;
    private final int version;
    private final boolean dataFileRaw;
    private long[] l1;
    private long l1Offset;
    private final PreallocationMapper mapper;

    /** Ranges whose clusters a free with QCOW2_DISCARD_ALWAYS left unreferenced: QEMU discards them in the file. */
    private final dev.q2.image.DiscardQueue discarded = new dev.q2.image.DiscardQueue();

    /** The guest data under this image (its backing chain), or null without a backing file. */
    private Backing backing;

    private long currentL2Offset = -1;
    private ByteBuffer currentL2;
    private boolean currentDirty;

    Qcow2Truncate(ImageFile file, ImageFile dataFile, QcowHeader h, long[] l1, RefcountAllocator refcounts,
                  boolean dataFileRaw, Sync sync) {
        this.file = file;
        this.dataFile = dataFile;
        this.refcounts = refcounts;
        this.sync = sync;
        this.clusterBits = h.clusterBits();
        this.cs = h.clusterSize();
        this.ext = h.extendedL2();
        this.entrySize = ext ? 16 : 8;
        this.l2Entries = cs / entrySize;
        this.l2Bits = Long.numberOfTrailingZeros(l2Entries);
        this.version = h.version();
        this.dataFileRaw = dataFileRaw;
        this.l1 = l1.clone();
        this.l1Offset = h.l1TableOffset();
        this.mapper = new Mapper();
    }

    /** The data the backing chain holds, for the copy-on-write of a cluster the image does not allocate. */
    interface Backing {
        /** Fills {@code dst} with the chain's guest bytes from {@code offset} (zeros past its end). */
        void read(long offset, ByteBuffer dst) throws IOException;
    }

    /** The image's backing chain (null: none). */
    Qcow2Truncate withBacking(Backing b) {
        this.backing = b;
        return this;
    }

    private boolean hasDataFile() {
        return dataFile != file;
    }

    long sizeToL1(long size) {
        int shift = clusterBits + l2Bits;
        return (size + (1L << shift) - 1) >>> shift;
    }

    /**
     * Resizes from {@code oldLength} to {@code offset} (both multiples of 512). {@code zeroWrite}: the new area
     * must read as zeros although a backing file is longer (QEMU's BDRV_REQ_ZERO_WRITE).
     */
    void truncate(long oldLength, long offset, Preallocation prealloc, boolean zeroWrite) throws IOException {
        long newL1Size = sizeToL1(offset);
        if (offset < oldLength) {
            if (prealloc != Preallocation.OFF) {
                throw new ResizeException(Category.INVALID_ARGUMENT,
                        "Preallocation can't be used for shrinking an image");
            }
            long start = roundUp(offset, cs);
            discardFull(start, oldLength - start, oldLength);
            shrinkL1(newL1Size);
            refcounts.flush();
            sync(file);
            for (long block : refcounts.shrinkTable()) {
                discarded.add(block, cs);
            }
            refcounts.flush();
            processDiscards();
            sync(file);
            long oldFileSize = file.size();
            long last = lastCluster(oldFileSize);
            if ((last + 1) * cs < oldFileSize) {
                file.setLength((last + 1) * cs);
            }
        } else {
            growL1(newL1Size);
            if (dataFileRaw && prealloc == Preallocation.OFF) {
                prealloc = Preallocation.METADATA; // the data file must stay a 1:1 image of the guest disk
            }
        }

        switch (prealloc) {
            case OFF -> {
                if (hasDataFile()) {
                    dataFile.setLength(offset);
                }
            }
            case METADATA -> preallocateMetadata(oldLength, offset, Preallocation.METADATA);
            case FALLOC, FULL -> {
                if (hasDataFile()) {
                    preallocateMetadata(oldLength, offset, prealloc);
                } else {
                    preallocateData(oldLength, offset, prealloc);
                    // QEMU grows the file with BDRV_REQ_ZERO_WRITE, which the file protocol honours (a file's new
                    // area reads as zeros): nothing is left to zero afterwards (no zero flags, no explicit zeros)
                    zeroWrite = false;
                }
            }
            default -> throw new IllegalStateException();
        }

        if (zeroWrite && offset > oldLength) {
            long sub = ext ? cs / SubclusterBitmap.SUBCLUSTERS : cs;
            long zeroStart = roundUp(oldLength, sub);
            if (zeroStart > oldLength && !allocatedInPlace(oldLength, sub)) {
                throw new ResizeException(Category.UNSUPPORTED, "q2 cannot yet grow an image whose size is not a"
                        + " multiple of its (sub)cluster size while its backing file is longer, unless the"
                        + " (sub)cluster at its end is allocated in the image");
            }
            if (offset > zeroStart) {
                zeroize(zeroStart, offset, oldLength);
            }
            if (zeroStart > oldLength) {
                // qcow2_co_truncate writes explicit zeros for the unaligned head, after zeroing the rest; here the
                // head lies in a (sub)cluster of our own, so the write goes in place
                long len = Math.min(zeroStart, offset) - oldLength;
                flushL2();
                select(L1Entry.l2Offset(l1[(int) (oldLength >>> (clusterBits + l2Bits))]));
                long host = L2Entry.hostOffset(entry(l2Index(oldLength)));
                dataFile.writeFully(host + (oldLength & (cs - 1)), ByteBuffer.allocate((int) len));
                sync(dataFile);
            }
        }
        flushL2();
        refcounts.flush();
        sync(file);

        ByteBuffer size = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putLong(0, offset);
        file.writeFully(24, size);
        sync(file);
    }

    // ------------------------------------------------------------------ L1

    private void growL1(long minSize) throws IOException {
        if (minSize <= l1.length) {
            return;
        }
        if (minSize > Integer.MAX_VALUE / 8 || minSize > Limits.MAX_L1_SIZE / 8) {
            throw new ResizeException(Category.INVALID_ARGUMENT, "Failed to grow the L1 table: File too large");
        }
        int newSize = (int) minSize;
        long[] table = new long[newSize];
        System.arraycopy(l1, 0, table, 0, l1.length);
        long newOffset = refcounts.allocClusters(newSize * 8L);
        refcounts.flush();
        sync(file);
        ByteBuffer b = ByteBuffer.allocate(newSize * 8).order(ByteOrder.BIG_ENDIAN);
        b.asLongBuffer().put(table);
        file.writeFully(newOffset, b);
        sync(file);
        ByteBuffer hdr = ByteBuffer.allocate(12).order(ByteOrder.BIG_ENDIAN);
        hdr.putInt(newSize).putLong(newOffset).flip();
        file.writeFully(36, hdr);
        sync(file);
        long oldOffset = l1Offset;
        long oldSize = l1.length;
        l1 = table;
        l1Offset = newOffset;
        refcounts.freeClusters(oldOffset, oldSize * 8);
    }

    private void shrinkL1(long newSize) throws IOException {
        if (newSize >= l1.length) {
            return;
        }
        flushL2();
        refcounts.flush();
        int n = (int) newSize;
        file.writeFully(l1Offset + n * 8L, ByteBuffer.allocate((l1.length - n) * 8));
        sync(file);
        for (int i = l1.length - 1; i > n - 1; i--) {
            long l2 = L1Entry.l2Offset(l1[i]);
            if (l2 == 0) {
                continue;
            }
            if (l2 == currentL2Offset) {
                currentL2Offset = -1;
                currentL2 = null;
                currentDirty = false;
            }
            freeAlways(l2, cs);
            l1[i] = 0;
        }
        refcounts.flush();
        sync(file);
        processDiscards();
    }

    /** A free with QCOW2_DISCARD_ALWAYS: clusters whose refcount drops to 0 are discarded in the file. */
    private void freeAlways(long offset, long length) throws IOException {
        refcounts.freeClusters(offset, length);
        long first = offset & ~(cs - 1);
        for (long c = first; c < offset + length; c += cs) {
            if (refcounts.refcount(c >>> clusterBits) == 0) {
                discarded.add(c, cs);
            }
        }
    }

    /**
     * qcow2_process_discards: the file's discard, which QEMU's file driver does by punching holes (zeros). It
     * follows the refcount update, so a crash before it leaves only unreferenced data.
     */
    private void processDiscards() throws IOException {
        discarded.punch(file, true);
    }

    private void writeL1Entry(int index) throws IOException {
        ByteBuffer e = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putLong(0, l1[index]);
        file.writeFully(l1Offset + index * 8L, e);
        sync(file);
    }

    // ------------------------------------------------------------------ L2

    /**
     * Whether guest offset {@code guest} lies in a (sub)cluster the image holds data for in place: its L2 table and
     * cluster ours (OFLAG_COPIED), a standard cluster, or an allocated subcluster with extended L2.
     */
    private boolean allocatedInPlace(long guest, long sub) throws IOException {
        int l1Index = (int) (guest >>> (clusterBits + l2Bits));
        if (l1Index >= l1.length || !L1Entry.copied(l1[l1Index]) || (L1Entry.l2Offset(l1[l1Index]) & (cs - 1)) != 0) {
            return false;
        }
        flushL2();
        select(L1Entry.l2Offset(l1[l1Index]));
        int index = l2Index(guest);
        long e = entry(index);
        if (L2Entry.type(e, ext, hasDataFile()) != L2Entry.Type.NORMAL || !L2Entry.copied(e)
                || (L2Entry.hostOffset(e) & (cs - 1)) != 0) {
            return false;
        }
        return !ext || SubclusterBitmap.allocated(bitmap(index), (int) ((guest & (cs - 1)) / sub));
    }

    /** get_cluster_table: the L2 table of a guest offset, allocated (or copied from a shared one) as QEMU does. */
    private void clusterTable(long guestOffset) throws IOException {
        int l1Index = (int) (guestOffset >>> (clusterBits + l2Bits));
        if (l1Index >= l1.length) {
            throw new IllegalStateException("guest offset past the L1 table");
        }
        long entry = l1[l1Index];
        long old = L1Entry.l2Offset(entry);
        if ((old & (cs - 1)) != 0) {
            throw new ResizeException(Category.CORRUPT, "L2 table offset 0x" + Long.toHexString(old)
                    + " unaligned (L1 index: 0x" + Long.toHexString(l1Index) + ")");
        }
        if (L1Entry.copied(entry)) {
            select(old);
            return;
        }
        flushL2();
        long table = refcounts.allocClusters(cs);
        if (table == 0) {
            throw new ResizeException(Category.CORRUPT, "Preventing invalid allocation of L2 table at offset 0");
        }
        refcounts.flush();
        sync(file);
        ByteBuffer fresh = ByteBuffer.allocate((int) cs).order(ByteOrder.BIG_ENDIAN);
        if (old != 0) {
            file.readZeroFilled(old, fresh);
            fresh.clear();
        }
        file.writeFully(table, fresh.duplicate());
        sync(file);
        l1[l1Index] = table | L1Entry.OFLAG_COPIED;
        writeL1Entry(l1Index);
        if (old != 0) {
            refcounts.freeClusters(old, cs);
        }
        currentL2Offset = table;
        currentL2 = fresh;
        currentDirty = false;
    }

    private void select(long offset) throws IOException {
        if (offset == currentL2Offset) {
            return;
        }
        flushL2();
        ByteBuffer b = ByteBuffer.allocate((int) cs).order(ByteOrder.BIG_ENDIAN);
        file.readZeroFilled(offset, b);
        b.clear();
        currentL2Offset = offset;
        currentL2 = b;
        currentDirty = false;
    }

    /** Writes the current L2 table if it changed; the refcount decreases made meanwhile reach the disk after it. */
    private void flushL2() throws IOException {
        if (currentL2 != null && currentDirty) {
            ByteBuffer b = currentL2.duplicate();
            b.clear();
            file.writeFully(currentL2Offset, b);
            sync(file);
            currentDirty = false;
        }
    }

    private int l2Index(long guestOffset) {
        return (int) ((guestOffset >>> clusterBits) & (l2Entries - 1));
    }

    private long entry(int index) {
        return currentL2.getLong(index * entrySize);
    }

    private long bitmap(int index) {
        return ext ? currentL2.getLong(index * entrySize + 8) : 0;
    }

    private void set(int index, long entry, long bitmap) {
        currentL2.putLong(index * entrySize, entry);
        if (ext) {
            currentL2.putLong(index * entrySize + 8, bitmap);
        }
        currentDirty = true;
    }

    /** qcow2_free_any_cluster: drops the reference an L2 entry held. */
    private void freeAny(long entry, boolean always) throws IOException {
        L2Entry.Type type = L2Entry.type(entry, ext, hasDataFile());
        switch (type) {
            case COMPRESSED -> {
                CompressedDescriptor d = CompressedDescriptor.decode(entry, clusterBits);
                if (always) {
                    freeAlways(d.hostOffset(), d.endOffset() - d.hostOffset());
                } else {
                    refcounts.freeClusters(d.hostOffset(), d.endOffset() - d.hostOffset());
                }
            }
            case NORMAL, ZERO_ALLOC -> {
                long host = L2Entry.hostOffset(entry);
                if ((host & (cs - 1)) != 0) {
                    throw new ResizeException(Category.CORRUPT, "Cannot free unaligned cluster 0x"
                            + Long.toHexString(host));
                }
                if (!hasDataFile()) {
                    if (always) {
                        freeAlways(host, cs);
                    } else {
                        refcounts.freeClusters(host, cs);
                    }
                }
            }
            default -> {
            }
        }
    }

    /** qcow2_cluster_discard with full_discard: entries cleared (reads fall through to the backing file). */
    private void discardFull(long offset, long bytes, long oldLength) throws IOException {
        long nb = (bytes + cs - 1) >>> clusterBits;
        while (nb > 0) {
            clusterTable(offset);
            int index = l2Index(offset);
            long n = Math.min(nb, l2Entries - index);
            for (int i = 0; i < n; i++) {
                long old = entry(index + i);
                long oldBitmap = bitmap(index + i);
                if (old == 0 && oldBitmap == 0) {
                    continue;
                }
                set(index + i, 0, 0);
                freeAny(old, true);
            }
            flushL2();
            nb -= n;
            offset += n * cs;
        }
        refcounts.flush();
        sync(file);
        processDiscards();
    }

    /**
     * qcow2_subcluster_zeroize of [from, to) without unmapping (to is past the old end, so there is no tail): zero
     * flags (or all-zero subcluster bitmaps), compressed clusters dropped.
     */
    private void zeroize(long from, long to, long oldLength) throws IOException {
        if (version < 3) {
            throw new ResizeException(Category.UNSUPPORTED, "Failed to zero out new clusters: Operation not supported");
        }
        long sub = cs / SubclusterBitmap.SUBCLUSTERS;
        long head = Math.min(to, roundUp(from, cs)) - from;
        if (head > 0) {
            // zero_l2_subclusters: the subclusters from 'from' to the end of its cluster
            clusterTable(from);
            int index = l2Index(from);
            long e = entry(index);
            long bm = bitmap(index);
            int first = (int) ((from & (cs - 1)) / sub);
            int count = (int) ((head + sub - 1) / sub);
            int mask = (int) ((count == 32 ? 0xffffffffL : ((1L << count) - 1)) << first);
            if (L2Entry.compressed(e)) {
                throw new ResizeException(Category.UNSUPPORTED, "q2 cannot yet zero part of a compressed cluster");
            }
            int alloc = SubclusterBitmap.allocMask(bm) & ~mask;
            int zero = SubclusterBitmap.zeroMask(bm) | mask;
            long nbm = SubclusterBitmap.of(alloc, zero);
            if (nbm != bm) {
                set(index, e, nbm);
            }
            from += head;
        }
        long nb = (to - from + cs - 1) >>> clusterBits;
        while (nb > 0) {
            clusterTable(from);
            int index = l2Index(from);
            long n = Math.min(nb, l2Entries - index);
            for (int i = 0; i < n; i++) {
                long old = entry(index + i);
                long oldBitmap = bitmap(index + i);
                boolean unmap = L2Entry.compressed(old);
                long ne = unmap ? 0 : old;
                long nbm = oldBitmap;
                if (ext) {
                    nbm = SubclusterBitmap.of(0, -1);
                } else {
                    ne |= L2Entry.OFLAG_ZERO;
                }
                if (ne == old && nbm == oldBitmap) {
                    continue;
                }
                set(index + i, ne, nbm);
                if (unmap) {
                    freeAny(old, false); // QCOW2_DISCARD_REQUEST: not passed down by default
                }
            }
            flushL2();
            nb -= n;
            from += n * cs;
        }
    }

    // ------------------------------------------------------------------ preallocation

    /** Metadata preallocation: the file's length when it started (host clusters below it may hold old bytes). */
    private long staleEnd;

    /** preallocate_co: maps [from, to) cluster by cluster, L2 tables first, as QEMU's allocator places them. */
    private void preallocateMetadata(long from, long to, Preallocation mode) throws IOException {
        long copied = -1;
        if ((from & (cs - 1)) != 0) {
            long host = headCluster(from);
            if (host >= 0) {
                if (to <= (from & ~(cs - 1)) + cs) {
                    return; // all in a cluster the image already holds in place: nothing to allocate
                }
                copied = host + (from & (cs - 1));
            }
        }
        staleEnd = hasDataFile() ? 0 : file.size();
        long[] last = mapper.mapRange(from, to, copied);
        long lastHost = last[0];
        long lastBytes = last[1];
        flushL2();
        refcounts.flush();
        sync(file);
        // the copy-on-write of a partial last cluster (or subcluster): zeros, there is nothing to copy
        long tail = mapper.tailCowBytes(to);
        ImageFile target = hasDataFile() ? dataFile : file;
        if (tail != 0 && lastBytes > 0) {
            // perform_cow's end region: the guest bytes after the new end, from the backing chain (zeros without)
            ByteBuffer cow = ByteBuffer.allocate((int) tail);
            if (backing != null && !hasDataFile()) {
                backing.read(to, cow);
                cow.clear();
            }
            target.writeFully(lastHost + lastBytes, cow);
        }
        long end = lastHost + lastBytes;
        if (lastBytes > 0 && end > target.size()) {
            if (mode == Preallocation.FULL) {
                target.fillZeros(target.size(), end);
            } else {
                target.setLength(end);
            }
        }
    }

    /** QEMU's allocation order over this class's L2 tables; the file grows as clusters are allocated. */
    private final class Mapper extends PreallocationMapper {
        Mapper() {
            super(Qcow2Truncate.this.refcounts, Qcow2Truncate.this.cs, ext, hasDataFile());
        }

        @Override
        protected void clusterTable(long guestOffset) throws IOException {
            Qcow2Truncate.this.clusterTable(guestOffset);
        }

        @Override
        protected void link(long guestClusterOffset, long hostClusterOffset, long nbClusters) throws IOException {
            Qcow2Truncate.this.link(guestClusterOffset, hostClusterOffset, nbClusters);
        }

        @Override
        protected void cowHead(long guestClusterOffset, long hostClusterOffset, long bytes) throws IOException {
            Qcow2Truncate.this.cowHead(guestClusterOffset, -1, hostClusterOffset, bytes);
        }

        @Override
        protected void allocated(long end) throws IOException {
            // QEMU extends the file only when all is mapped; extending it as soon as clusters are allocated keeps L2
            // entries from pointing past its end after a crash, and ends at the same length
            ImageFile target = hasDataFile() ? dataFile : file;
            if (target.size() < end) {
                target.setLength(end);
            }
        }
    }

    private void link(long guestClusterOffset, long hostClusterOffset, long nbClusters) throws IOException {
        if (hostClusterOffset < staleEnd) {
            // a cluster freed earlier inside the file keeps its old bytes (a bitmap table freed by the last close):
            // zeroed before an L2 entry points at it, or the guest would read them (QEMU 7.2 leaves them)
            file.fillZeros(hostClusterOffset, Math.min(hostClusterOffset + nbClusters * cs, staleEnd));
        }
        int index = l2Index(guestClusterOffset);
        for (int i = 0; i < nbClusters; i++) {
            long old = entry(index + i);
            set(index + i, (hostClusterOffset + i * cs) | L2Entry.OFLAG_COPIED, bitmap(index + i));
            if (old != 0) {
                freeAny(old, false);
            }
        }
    }

    /** The falloc and full modes: refcount structures for everything first, then one data area after them. */
    private void preallocateData(long oldLength, long offset, Preallocation mode) throws IOException {
        // From a size inside a cluster, that cluster is allocated anew too, its head copied (qcow2_co_truncate's
        // cow_start), and the old one freed when the entry is replaced.
        long headStart = oldLength & ~(cs - 1);
        long headBytes = oldLength - headStart;
        long headHost = headBytes > 0 ? headCluster(oldLength) : -1;
        long fileSize = file.size();
        long last = lastClusterOrNone(fileSize);
        long oldFileSize = last >= 0 ? (last + 1) * cs : roundUp(fileSize, cs);
        long nbData = (roundUp(offset, cs) - headStart) >>> clusterBits;
        long nbL2 = (nbData + l2Entries - 1) / l2Entries + 1;
        long allocationStart = refcounts.refcountArea(oldFileSize, nbData + nbL2, true, 0, 0);
        long got = refcounts.allocClustersAt(allocationStart, nbData);
        if (got != nbData) {
            throw new ResizeException(Category.IO_ERROR, "Failed to allocate data clusters: Resource temporarily"
                    + " unavailable");
        }
        long newFileSize = allocationStart + nbData * cs;
        // falloc: file-posix fallocates from the file's current end, which allocates its blocks (iotest 125: the
        // host size must not grow when the area is written); without fallocate in Java, zeros allocate them alike.
        // The area may also start below the file's end, over clusters freed earlier whose old bytes are still
        // there (a bitmap directory freed by the last close ends the file): those are zeroed too, or the guest
        // would read them in the new area (QEMU 7.2 leaves them: qemu-io open/close, then truncate -m falloc)
        file.fillZeros(allocationStart, newFileSize);
        refcounts.flush();
        sync(file);
        if (headBytes > 0) {
            cowHead(headStart, headHost, allocationStart, headBytes);
            sync(file);
        }
        mapper.linkRange(headStart, allocationStart, nbData);
        flushL2();
    }

    /**
     * The cluster holding an unaligned old end, as the preallocation's copy-on-write of its head sees it: its host
     * offset when the image holds it in place (a standard cluster with OFLAG_COPIED), -1 when the image does not
     * allocate it (unallocated, or a plain zero cluster): then the head reads from the backing chain, or as zeros.
     * Other cases (extended L2, external data files, compressed or shared clusters) q2 does not do yet.
     */
    private long headCluster(long from) throws IOException {
        if (ext || hasDataFile()) {
            throw new ResizeException(Category.UNSUPPORTED, "q2 cannot yet preallocate from a size that is not a"
                    + " multiple of the cluster size in an image with extended L2 entries or an external data file");
        }
        int l1Index = (int) (from >>> (clusterBits + l2Bits));
        long e = 0;
        if (l1Index < l1.length && L1Entry.l2Offset(l1[l1Index]) != 0) {
            select(L1Entry.l2Offset(l1[l1Index]));
            e = entry(l2Index(from));
        }
        L2Entry.Type type = L2Entry.type(e, false, false);
        if (type == L2Entry.Type.NORMAL && L2Entry.copied(e) && (L2Entry.hostOffset(e) & (cs - 1)) == 0) {
            return L2Entry.hostOffset(e);
        }
        if (type == L2Entry.Type.UNALLOCATED || type == L2Entry.Type.ZERO_PLAIN) {
            return -1;
        }
        throw new ResizeException(Category.UNSUPPORTED, "q2 cannot yet preallocate from a size that is not a"
                + " multiple of the cluster size when the cluster at that size is compressed, shared or a"
                + " preallocated zero cluster");
    }

    /**
     * perform_cow's start region: the guest bytes [0, {@code bytes}) of a cluster copied into its new host cluster
     * before the L2 entry points there: from its old host cluster ({@code oldHost} >= 0), else from the backing
     * chain (zeros without one, or for a plain zero cluster).
     */
    private void cowHead(long guestClusterOffset, long oldHost, long newHost, long bytes) throws IOException {
        ByteBuffer head = ByteBuffer.allocate((int) bytes);
        if (oldHost >= 0) {
            file.readZeroFilled(oldHost, head);
        } else if (backing != null && !zeroFlagged(guestClusterOffset)) {
            backing.read(guestClusterOffset, head);
        }
        head.clear();
        file.writeFully(newHost, head);
    }

    private boolean zeroFlagged(long guest) throws IOException {
        int l1Index = (int) (guest >>> (clusterBits + l2Bits));
        if (l1Index >= l1.length || L1Entry.l2Offset(l1[l1Index]) == 0) {
            return false;
        }
        select(L1Entry.l2Offset(l1[l1Index]));
        return L2Entry.type(entry(l2Index(guest)), false, false) == L2Entry.Type.ZERO_PLAIN;
    }


    // ------------------------------------------------------------------ helpers

    /** qcow2_get_last_cluster: the last cluster with a reference, below the file's end. */
    private long lastCluster(long fileSize) throws IOException {
        long last = lastClusterOrNone(fileSize);
        if (last < 0) {
            throw new ResizeException(Category.CORRUPT, "Failed to find the last cluster: Input/output error");
        }
        return last;
    }

    private long lastClusterOrNone(long fileSize) throws IOException {
        for (long i = (fileSize + cs - 1) / cs - 1; i >= 0; i--) {
            if (refcounts.refcount(i) > 0) {
                return i;
            }
        }
        return -1;
    }

    private void sync(ImageFile f) throws IOException {
        if (f == file) {
            sync.sync();
        } else {
            f.flush();
        }
    }

    /** Makes the writes so far durable (an fsync); the points between which a crash may fall. */
    interface Sync {
        void sync() throws IOException;
    }

    private static long roundUp(long v, long unit) {
        return (v + unit - 1) / unit * unit;
    }
}
