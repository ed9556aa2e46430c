package dev.q2.image;

import dev.q2.format.BitmapDirectory;
import dev.q2.format.BitmapDirectoryEntry;
import dev.q2.format.BitmapsExtension;
import dev.q2.format.Features;
import dev.q2.format.FormatException;
import dev.q2.format.HeaderExtension;
import dev.q2.format.Limits;
import dev.q2.format.QcowHeader;
import dev.q2.io.ImageFile;
import dev.q2.util.Diagnostics;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The persistent dirty bitmaps of an image open for writing, kept true the way QEMU keeps them (block/qcow2-bitmap.c):
 *
 * <ul>
 * <li>{@link #open}: what QEMU's qcow2_do_open does to the header of a read-write image: unknown autoclear bits are
 * cleared; a bitmaps extension whose autoclear bit is clear is dropped (its bitmaps are lost, their clusters leak);
 * every bitmap not already in use is loaded and marked in use in the image, enabled ({@code auto}) or not, before
 * any guest write (header with the bitmaps bit cleared, directory rewritten in place, header with the bit set, each
 * synced). A bitmap already in use when the image is opened is inconsistent: it is never loaded, changed or stored,
 * so its flag stays.</li>
 * <li>{@link #markDirty}: every written, zeroed or discarded range sets the bits of the enabled bitmaps at their
 * granularity (as QEMU's block layer does for the whole request, whatever the driver made of it).</li>
 * <li>{@link #store}: on close, every loaded bitmap is written to new clusters (data clusters for the parts with a
 * dirty bit, then the table), then a new directory; refcounts and data are synced before the header points at the
 * new directory with in_use cleared; only then are the old directory, tables and data clusters freed.</li>
 * </ul>
 *
 * <p>Memory: only the bitmap clusters that writes touch are held (one cluster of bits each, read from the image
 * on first touch); the others are copied cluster by cluster when the bitmap is stored.
 *
 * <p>Over 600 lines on purpose: open, store, resize and the bitmap edits share one crash-safe write order (new
 * clusters, sync, header, then frees), which is easier to check in one class. Splitting out the bits of one bitmap
 * (the inner {@code Loaded}) is the next step once resize, bitmap and amend stop changing it.
 */
public final class PersistentBitmaps {
    /** Syncs the image file when the disk is durable (QEMU's bdrv_flush, a no-op with cache=unsafe). */
    public interface Sync {
        void sync() throws IOException;
    }

    private final ImageFile file;
    private RefcountAllocator refcounts;
    private final Sync sync;
    private final long cs;
    private long diskSize;
    private final List<HeaderExtension> extensions;
    /** The backing file name's bytes as stored (not decoded: they need not be UTF-8), or null. */
    private final byte[] backingFile;
    private QcowHeader header;
    private List<BitmapDirectoryEntry> directory;
    /** The stored names of the directory's entries (bytes: they need not be UTF-8). */
    private List<byte[]> names = List.of();
    private long directoryOffset;
    private long directorySize;
    /** Per directory entry: its loaded bits, or null for a bitmap that was in use when opened. */
    private final List<Loaded> loaded = new ArrayList<>();

    private PersistentBitmaps(ImageFile file, RefcountAllocator refcounts, Sync sync, QcowHeader header,
                              List<HeaderExtension> extensions) throws IOException {
        this.file = file;
        this.refcounts = refcounts;
        this.sync = sync;
        this.cs = header.clusterSize();
        this.diskSize = header.size();
        this.header = header;
        this.extensions = new ArrayList<>(extensions);
        this.backingFile = readBackingFileName(file, header);
        this.directory = List.of();
    }

    /**
     * The header extensions as the image now holds them (after a change such as amend's data_file), for the header
     * {@link #store} writes.
     */
    public void useExtensions(List<HeaderExtension> current) {
        extensions.clear();
        extensions.addAll(current);
    }

    /** The allocator over new refcount structures (after amend changed the refcount width). */
    public void useRefcounts(RefcountAllocator rc) {
        refcounts = rc;
    }

    /** The header as this class last wrote it (autoclear bits). */
    public QcowHeader header() {
        return header;
    }

    /**
     * Does to the header of an image opened for writing what QEMU's open does, and loads its bitmaps; see the class
     * comment. Fails with QEMU's messages when the bitmap directory is broken.
     */
    public static PersistentBitmaps open(ImageFile file, Qcow2Metadata img, RefcountAllocator refcounts, Sync sync)
            throws IOException {
        QcowHeader h = img.header();
        PersistentBitmaps pb = new PersistentBitmaps(file, refcounts, sync, h, img.extensions());
        boolean updateHeader = pb.clearUnknownAutoclear();
        BitmapsExtension ext = img.bitmapsExtension();
        if (ext == null) {
            if (updateHeader) {
                pb.writeHeader();
                sync.sync();
            }
            return pb;
        }
        // QEMU's checks of the extension (qcow2_read_extensions), before the directory is rewritten in place
        byte[] raw = HeaderExtension.last(img.extensions(), HeaderExtension.BITMAPS).orElseThrow().data();
        if (ByteBuffer.wrap(raw).getInt(4) != 0) {
            throw new ImageException("bitmaps_ext: Reserved field is not zero");
        }
        if (ext.nbBitmaps() == 0) {
            throw new ImageException("found bitmaps extension with zero bitmaps");
        }
        if ((ext.bitmapDirectoryOffset() & (h.clusterSize() - 1)) != 0) {
            throw new ImageException("bitmaps_ext: invalid bitmap directory offset");
        }
        pb.directoryOffset = ext.bitmapDirectoryOffset();
        pb.directorySize = ext.bitmapDirectorySize();
        pb.directory = pb.readDirectory(Integer.toUnsignedLong(ext.nbBitmaps()));
        List<BitmapDirectoryEntry> inUse = new ArrayList<>();
        boolean needsUpdate = false;
        for (BitmapDirectoryEntry e : pb.directory) {
            if (e.inUse()) {
                pb.loaded.add(null); // inconsistent: never touched, the flag stays
                inUse.add(e);
                continue;
            }
            pb.loaded.add(pb.load(e));
            inUse.add(e.withFlags(e.flags() | BitmapDirectoryEntry.FLAG_IN_USE));
            needsUpdate = true;
        }
        if (needsUpdate) {
            // Crash-safe order: with the autoclear bit clear a reader ignores the directory while it is rewritten.
            pb.header = pb.header.withAutoclearFeatures(pb.header.autoclearFeatures() & ~Features.AUTOCLEAR_BITMAPS);
            pb.writeHeader();
            sync.sync();
            byte[] dir = BitmapDirectory.encode(inUse, pb.names);
            if (dir.length != pb.directorySize) {
                throw new ImageException("Can't update bitmap directory: Invalid argument");
            }
            file.writeFully(pb.directoryOffset, ByteBuffer.wrap(dir));
            sync.sync();
            pb.header = pb.header.withAutoclearFeatures(pb.header.autoclearFeatures() | Features.AUTOCLEAR_BITMAPS);
            pb.writeHeader();
            sync.sync();
            pb.directory = List.copyOf(inUse);
        } else if (updateHeader) {
            pb.writeHeader();
            sync.sync();
        }
        return pb;
    }

    /**
     * Clears unknown autoclear bits and drops a bitmaps extension that QEMU ignores (its autoclear bit clear);
     * returns whether the header must be rewritten.
     */
    private boolean clearUnknownAutoclear() {
        boolean update = false;
        long autoclear = header.autoclearFeatures();
        if ((autoclear & ~Features.AUTOCLEAR_KNOWN) != 0) {
            header = header.withAutoclearFeatures(autoclear & Features.AUTOCLEAR_KNOWN);
            update = true;
        }
        if ((autoclear & Features.AUTOCLEAR_BITMAPS) == 0 && removeBitmapsExtension(extensions)) {
            Diagnostics.info(PersistentBitmaps.class, "a program lacking bitmap support modified {}, so all bitmaps"
                    + " are now considered inconsistent; the bitmaps extension is dropped", file.path());
            update = true;
        }
        return update;
    }

    /** Removes the bitmaps extensions; a loop, not removeIf with a lambda, as this runs at every read-write open. */
    private static boolean removeBitmapsExtension(List<HeaderExtension> extensions) {
        boolean removed = false;
        for (java.util.Iterator<HeaderExtension> it = extensions.iterator(); it.hasNext(); ) {
            if (it.next().type() == HeaderExtension.BITMAPS) {
                it.remove();
                removed = true;
            }
        }
        return removed;
    }

    /**
     * What a read-write open for {@code check -r} does to the header before the check (QEMU opens the image
     * read-write for a repair): unknown autoclear bits are cleared and an ignored bitmaps extension is dropped.
     * Returns whether the header was rewritten (the caller then loads the image again).
     */
    public static boolean updateHeaderForRepair(ImageFile file, Qcow2Metadata img) throws IOException {
        PersistentBitmaps pb = new PersistentBitmaps(file, null, file::flush, img.header(), img.extensions());
        if (!pb.clearUnknownAutoclear()) {
            return false;
        }
        pb.writeHeader();
        file.flush();
        return true;
    }

    private void writeHeader() throws IOException {
        header = HeaderWriter.write(file, header, extensions, backingFile);
    }

    private static byte[] readBackingFileName(ImageFile file, QcowHeader h) throws IOException {
        if (h.backingFileOffset() == 0) {
            return null;
        }
        // bounds checked by Qcow2Metadata's open (name within the first cluster, at most 1023 bytes)
        ByteBuffer name = ByteBuffer.allocate(h.backingFileSize());
        file.readZeroFilled(h.backingFileOffset(), name);
        return name.array();
    }

    private List<BitmapDirectoryEntry> readDirectory(long nb) throws IOException {
        if (directorySize > Limits.MAX_BITMAP_DIRECTORY_SIZE) {
            throw new ImageException("Requested bitmap directory size is too big");
        }
        ByteBuffer buf = ByteBuffer.allocate((int) directorySize);
        file.readZeroFilled(directoryOffset, buf);
        List<BitmapDirectoryEntry> entries = BitmapDirectory.decode(buf.array(), nb, cs, diskSize);
        names = BitmapDirectory.rawNames(buf.array());
        return entries;
    }

    private Loaded load(BitmapDirectoryEntry e) throws IOException {
        int n = e.bitmapTableSize();
        long expected = BitmapDirectoryEntry.tableEntriesFor(diskSize, e.granularityBits(), cs);
        if (expected != n) {
            throw new ImageException("Could not read bitmap '" + e.name() + "' from image: Invalid argument");
        }
        long[] table = readTable(e, n);
        if (table == null) {
            throw new ImageException("Could not read bitmap_table table from image for bitmap '" + e.name()
                    + "': Invalid argument");
        }
        return new Loaded(e.granularityBits(), e.auto(), table);
    }

    /** The {@code n} entries of a bitmap's table, or null when one of them is invalid. */
    private long[] readTable(BitmapDirectoryEntry e, int n) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(n * 8).order(ByteOrder.BIG_ENDIAN);
        file.readZeroFilled(e.bitmapTableOffset(), buf);
        long[] table = new long[n];
        for (int i = 0; i < n; i++) {
            table[i] = buf.getLong(i * 8);
            if (!BitmapDirectory.validTableEntry(table[i], cs)) {
                return null;
            }
        }
        return table;
    }

    /**
     * The bitmaps a resize could not carry (qcow2_truncate_bitmaps_check): the names of bitmaps that were in use
     * (inconsistent) when the image was opened.
     */
    public List<String> inconsistent() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < directory.size(); i++) {
            if (loaded.get(i) == null) {
                out.add(directory.get(i).name());
            }
        }
        return out;
    }

    /**
     * Follows a resize of the disk (bdrv_dirty_bitmap_truncate): bits past a new, smaller end are dropped, bits of
     * a grown area start clear; {@link #store} then writes tables of the new length.
     */
    public void resize(long newSize) {
        diskSize = newSize;
        for (Loaded l : loaded) {
            if (l != null) {
                l.bits = (newSize + (1L << l.granularityBits) - 1) >>> l.granularityBits;
                l.length = (int) BitmapDirectoryEntry.tableEntriesFor(newSize, l.granularityBits, cs);
                // bits past a smaller end are gone for good, also when a later resize grows the disk again
                l.keptBits = Math.min(l.keptBits, l.bits);
                l.touched.keySet().removeIf(c -> c >= l.length);
                l.touched.forEach((c, b) -> {
                    long valid = l.bits - c * l.bitsPerChunk;
                    if (valid < l.bitsPerChunk) {
                        l.clearFrom(b, (int) valid);
                    }
                });
            }
        }
    }

    /** Sets the dirty bits of every enabled bitmap for guest bytes [offset, offset + length). */
    public void markDirty(long offset, long length) throws IOException {
        if (length <= 0) {
            return;
        }
        for (Loaded l : loaded) {
            if (l != null && l.enabled) {
                l.set(offset, Math.min(offset + length, diskSize));
            }
        }
    }

    /**
     * Stores every loaded bitmap and clears its in_use flag (QEMU's qcow2_store_persistent_dirty_bitmaps on
     * close). {@code current} is the engine's header (its incompatible bits); the refcount table fields are taken
     * from the allocator. Returns the header as written.
     */
    public QcowHeader store(QcowHeader current) throws IOException {
        boolean any = false;
        for (Loaded l : loaded) {
            any |= l != null;
        }
        if (!any) {
            return current;
        }
        List<BitmapDirectoryEntry> stored = new ArrayList<>(directory);
        for (int i = 0; i < stored.size(); i++) {
            Loaded l = loaded.get(i);
            if (l == null) {
                continue;
            }
            long[] table = new long[l.length];
            for (int c = 0; c < table.length; c++) {
                byte[] bits = l.chunk(c, false);
                if (allZero(bits)) {
                    continue;
                }
                long off = refcounts.allocClusters(cs);
                file.writeFully(off, ByteBuffer.wrap(bits));
                table[c] = off;
            }
            long tableOffset = refcounts.allocClusters(table.length * 8L);
            ByteBuffer tb = ByteBuffer.allocate(table.length * 8).order(ByteOrder.BIG_ENDIAN);
            tb.asLongBuffer().put(table);
            file.writeFully(tableOffset, tb);
            BitmapDirectoryEntry e = stored.get(i);
            stored.set(i, e.withTable(tableOffset, table.length)
                    .withFlags(l.enabled ? BitmapDirectoryEntry.FLAG_AUTO : 0));
        }
        byte[] dir = BitmapDirectory.encode(stored, names);
        long dirOffset = refcounts.allocClusters(dir.length);
        file.writeFully(dirOffset, ByteBuffer.wrap(dir));
        refcounts.flush();
        sync.sync(); // bitmaps, tables, directory and their refcounts are on disk before the header points at them

        extensions.removeIf(x -> x.type() == HeaderExtension.BITMAPS);
        extensions.add(new HeaderExtension(HeaderExtension.BITMAPS,
                new BitmapsExtension(stored.size(), dir.length, dirOffset).encode()));
        header = current.withRefcountTable(refcounts.tableOffset(), refcounts.tableClusters())
                .withAutoclearFeatures((current.autoclearFeatures() & Features.AUTOCLEAR_KNOWN)
                        | Features.AUTOCLEAR_BITMAPS);
        writeHeader();
        sync.sync();

        refcounts.addReferences(directoryOffset, directorySize, -1);
        for (int i = 0; i < directory.size(); i++) {
            Loaded l = loaded.get(i);
            if (l == null || l.isNew) {
                continue;
            }
            for (long entry : l.table) {
                freeDataCluster(entry & BitmapDirectory.TABLE_ENTRY_OFFSET_MASK);
            }
            BitmapDirectoryEntry old = directory.get(i);
            refcounts.addReferences(old.bitmapTableOffset(), old.bitmapTableSize() * 8L, -1);
        }
        refcounts.flush();
        sync.sync();
        directory = List.copyOf(stored);
        directoryOffset = dirOffset;
        directorySize = dir.length;
        loaded.clear();
        return header;
    }

    // ---- the bitmaps as named objects, for qemu-img bitmap's operations (dev.q2.bitmap) ------------------------

    /** Index of the bitmap named {@code name} (names compared as stored bytes), or -1. */
    private int indexOf(String name) {
        byte[] n = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        for (int i = 0; i < names.size(); i++) {
            if (Arrays.equals(names.get(i), n)) {
                return i;
            }
        }
        return -1;
    }

    private int require(String name) {
        int i = indexOf(name);
        if (i < 0) {
            throw new IllegalArgumentException("no bitmap " + name);
        }
        return i;
    }

    /** The names of the image's bitmaps, in directory order (then those created in this session). */
    public List<String> names() {
        List<String> out = new ArrayList<>();
        for (BitmapDirectoryEntry e : directory) {
            out.add(e.name());
        }
        return out;
    }

    /** Whether the image has a bitmap of that name (loaded, inconsistent or created in this session). */
    public boolean exists(String name) {
        return indexOf(name) >= 0;
    }

    /** Whether the named bitmap was in use when the image was opened (QEMU: inconsistent; never loaded). */
    public boolean inconsistent(String name) {
        return loaded.get(require(name)) == null;
    }

    /** Whether the named (consistent) bitmap records writes. */
    public boolean enabled(String name) {
        return loaded.get(require(name)).enabled;
    }

    /** Number of bitmaps and bytes of directory they take, counting one more named {@code extra} (may be null). */
    public long[] directoryUsageWith(String extra) {
        long size = 0;
        for (byte[] n : names) {
            size += (BitmapDirectoryEntry.FIXED_SIZE + n.length + 7) & ~7;
        }
        long nb = names.size();
        if (extra != null) {
            nb++;
            size += (BitmapDirectoryEntry.FIXED_SIZE + extra.getBytes(java.nio.charset.StandardCharsets.UTF_8).length
                    + 7) & ~7;
        }
        return new long[] {nb, size};
    }

    /** The image's virtual size (the size of every bitmap). */
    public long diskSize() {
        return diskSize;
    }

    /** The image's cluster size. */
    public long clusterSize() {
        return cs;
    }

    /**
     * Creates an empty, enabled bitmap, kept in memory and stored with the others on close (QEMU's
     * block-dirty-bitmap-add of a persistent bitmap); the caller has checked QEMU's constraints. Bitmaps created in
     * one session are stored after the image's, the last created first, as QEMU stores them.
     */
    public void create(String name, int granularityBits) {
        if (refcounts == null) {
            throw new IllegalStateException("read-only");
        }
        int n = (int) BitmapDirectoryEntry.tableEntriesFor(diskSize, granularityBits, cs);
        Loaded l = new Loaded(granularityBits, true, new long[n]);
        l.isNew = true;
        // QEMU keeps its bitmaps newest first and stores new ones after the image's in that order
        int at = 0;
        while (at < loaded.size() && (loaded.get(at) == null || !loaded.get(at).isNew)) {
            at++;
        }
        List<BitmapDirectoryEntry> d = new ArrayList<>(directory);
        d.add(at, new BitmapDirectoryEntry(0, n, BitmapDirectoryEntry.FLAG_AUTO,
                BitmapDirectoryEntry.TYPE_DIRTY_TRACKING, granularityBits, name, 0));
        directory = d;
        List<byte[]> nm = new ArrayList<>(names);
        nm.add(at, name.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        names = nm;
        loaded.add(at, l);
    }

    /** Enables or disables a loaded bitmap (stored as the auto flag on close). */
    public void setEnabled(String name, boolean on) {
        loaded.get(require(name)).enabled = on;
    }

    /** Clears every bit of a loaded bitmap. */
    public void clear(String name) {
        Loaded l = loaded.get(require(name));
        l.touched.clear();
        l.cleared = true;
    }

    /** The granularity of the named bitmap, in bytes. */
    public long granularity(String name) {
        return directory.get(require(name)).granularity();
    }

    /** Receives dirty ranges of guest bytes, [from, to). */
    public interface RangeSink {
        void accept(long from, long to) throws IOException;
    }

    /** Reports the dirty ranges of a loaded bitmap, in order, each as long as possible. */
    public void forEachDirty(String name, RangeSink sink) throws IOException {
        Loaded l = loaded.get(require(name));
        RunJoiner runs = new RunJoiner(sink);
        for (int c = 0; c < l.length; c++) {
            byte[] b = l.chunk(c, false);
            long base = c * l.bitsPerChunk;
            for (int i = 0; i < b.length; i++) {
                if (b[i] == 0) {
                    continue;
                }
                if (b[i] == (byte) 0xff) { // eight dirty bits: one range
                    long bit = base + i * 8L;
                    runs.add(bit << l.granularityBits, Math.min(diskSize, (bit + 8) << l.granularityBits));
                    continue;
                }
                for (int j = 0; j < 8; j++) {
                    if ((b[i] & (1 << j)) != 0) {
                        long bit = base + i * 8L + j;
                        runs.add(bit << l.granularityBits, Math.min(diskSize, (bit + 1) << l.granularityBits));
                    }
                }
            }
        }
        runs.finish();
    }

    /** Sets the bits of a loaded bitmap that cover guest bytes [from, to), whether it is enabled or not. */
    public void setDirty(String name, long from, long to) throws IOException {
        if (to > from) {
            loaded.get(require(name)).set(from, Math.min(to, diskSize));
        }
    }

    /**
     * Removes a bitmap from the image at once, as QEMU's qcow2_co_remove_persistent_dirty_bitmap does: a new
     * directory without it (or no bitmaps extension when it was the last), refcounts synced before the header
     * points at it, then the old directory and the bitmap's clusters freed. A bitmap created in this session and
     * not yet stored is only forgotten.
     */
    public void remove(String name) throws IOException {
        int i = require(name);
        Loaded l = loaded.get(i);
        BitmapDirectoryEntry gone = directory.get(i);
        List<BitmapDirectoryEntry> d = new ArrayList<>(directory);
        List<byte[]> nm = new ArrayList<>(names);
        d.remove(i);
        nm.remove(i);
        loaded.remove(i);
        directory = d;
        names = nm;
        if (l != null && l.isNew) {
            return;
        }
        // the image's directory: every entry but the new ones (created in this session, not yet stored)
        List<BitmapDirectoryEntry> onDisk = new ArrayList<>();
        List<byte[]> onDiskNames = new ArrayList<>();
        for (int k = 0; k < d.size(); k++) {
            if (loaded.get(k) == null || !loaded.get(k).isNew) {
                onDisk.add(d.get(k));
                onDiskNames.add(nm.get(k));
            }
        }
        long oldOffset = directoryOffset;
        long oldSize = directorySize;
        // the header as the engine left it on disk (its incompatible bits, L1 table), not as this class last wrote it
        ByteBuffer fixed = ByteBuffer.allocate(QcowHeader.V3_HEADER_LENGTH);
        file.readZeroFilled(0, fixed);
        try {
            header = QcowHeader.decode(fixed.flip());
        } catch (FormatException e) {
            throw new ImageException("Could not update qcow2 header: " + e.getMessage());
        }
        extensions.removeIf(x -> x.type() == HeaderExtension.BITMAPS);
        if (!onDisk.isEmpty()) {
            byte[] dir = BitmapDirectory.encode(onDisk, onDiskNames);
            long dirOffset = refcounts.allocClusters(dir.length);
            file.writeFully(dirOffset, ByteBuffer.wrap(dir));
            refcounts.flush();
            sync.sync();
            extensions.add(new HeaderExtension(HeaderExtension.BITMAPS,
                    new BitmapsExtension(onDisk.size(), dir.length, dirOffset).encode()));
            header = header.withRefcountTable(refcounts.tableOffset(), refcounts.tableClusters())
                    .withAutoclearFeatures(header.autoclearFeatures() | Features.AUTOCLEAR_BITMAPS);
            directoryOffset = dirOffset;
            directorySize = dir.length;
        } else {
            header = header.withRefcountTable(refcounts.tableOffset(), refcounts.tableClusters())
                    .withAutoclearFeatures(header.autoclearFeatures() & ~Features.AUTOCLEAR_BITMAPS);
            directoryOffset = 0;
            directorySize = 0;
        }
        writeHeader();
        sync.sync();
        if (oldSize > 0) {
            refcounts.addReferences(oldOffset, oldSize, -1);
        }
        freeTable(gone);
        refcounts.flush();
        sync.sync();
    }

    /**
     * Drops the reference to a bitmap data cluster (none at offset 0). QEMU frees these with QCOW2_DISCARD_ALWAYS:
     * a cluster no longer used is discarded in the image file (which QEMU always opens with unmap), so it reads as
     * zeros afterwards; q2 punches the hole too (or writes zeros where the file system cannot).
     */
    private void freeDataCluster(long off) throws IOException {
        if (off == 0) {
            return;
        }
        refcounts.addReferences(off, cs, -1);
        if (refcounts.refcount(off / cs) == 0 && !file.punchHole(off, cs)) {
            file.writeFully(off, ByteBuffer.allocate((int) cs));
        }
    }

    /** Frees a bitmap's data clusters and table as QEMU's free_bitmap_clusters (nothing when the table is bad). */
    private void freeTable(BitmapDirectoryEntry e) throws IOException {
        int n = e.bitmapTableSize();
        if (n <= 0 || e.bitmapTableOffset() == 0 || n > BitmapDirectoryEntry.MAX_TABLE_SIZE) {
            return;
        }
        long[] table = readTable(e, n);
        if (table == null) {
            return;
        }
        for (long entry : table) {
            freeDataCluster(entry & BitmapDirectory.TABLE_ENTRY_OFFSET_MASK);
        }
        refcounts.addReferences(e.bitmapTableOffset(), n * 8L, -1);
    }

    /**
     * The bitmaps of an image opened read-only (the source of a merge from another image): loaded as QEMU loads
     * them without write access (a bitmap in use is inconsistent), nothing written.
     */
    public static PersistentBitmaps readOnly(ImageFile file, Qcow2Metadata img) throws IOException {
        PersistentBitmaps pb = new PersistentBitmaps(file, null, () -> { }, img.header(), img.extensions());
        BitmapsExtension ext = img.bitmapsExtension();
        if (ext == null || (img.header().autoclearFeatures() & Features.AUTOCLEAR_BITMAPS) == 0) {
            return pb;
        }
        pb.directoryOffset = ext.bitmapDirectoryOffset();
        pb.directorySize = ext.bitmapDirectorySize();
        pb.directory = pb.readDirectory(Integer.toUnsignedLong(ext.nbBitmaps()));
        for (BitmapDirectoryEntry e : pb.directory) {
            pb.loaded.add(e.inUse() ? null : pb.load(e));
        }
        return pb;
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    /** One bitmap's bits: the clusters of bits that writes touched, the rest read from its old table on demand. */
    private final class Loaded {
        final int granularityBits;
        boolean enabled;
        /** Created in this session: no old table to free. */
        boolean isNew;
        /** Cleared in this session: chunks not touched since read as zeros, not from the old table. */
        boolean cleared;
        final long[] table;
        long bits;
        /** Bits of the stored table still valid: the smallest size the disk had since the bitmap was loaded. */
        long keptBits;
        /** Entries of the table {@link #store} writes: the old table's, or as many as a resize needs. */
        int length;
        final long bitsPerChunk;
        final Map<Integer, byte[]> touched = new HashMap<>();

        Loaded(int granularityBits, boolean enabled, long[] table) {
            this.granularityBits = granularityBits;
            this.enabled = enabled;
            this.table = table;
            this.bits = (diskSize + (1L << granularityBits) - 1) >>> granularityBits;
            this.keptBits = bits;
            this.bitsPerChunk = cs * 8;
            this.length = table.length;
        }

        /** Bits of table entry {@code c}; bits past the end of the disk are zero, as QEMU stores them. */
        byte[] chunk(int c, boolean keep) throws IOException {
            byte[] b = touched.get(c);
            if (b != null) {
                return b;
            }
            b = new byte[(int) cs];
            // the stored bits up to the smallest size since the load; past it (a grown area) they start clear
            long valid = Math.min(bitsPerChunk, Math.min(bits, keptBits) - c * bitsPerChunk);
            long entry = cleared || c >= table.length || valid <= 0 ? 0 : table[c];
            long off = entry & BitmapDirectory.TABLE_ENTRY_OFFSET_MASK;
            if (off != 0) {
                file.readZeroFilled(off, ByteBuffer.wrap(b));
            } else if ((entry & BitmapDirectory.TABLE_ENTRY_ALL_ONES) != 0) {
                Arrays.fill(b, (byte) 0xff);
            }
            if (valid > 0 && valid < bitsPerChunk) {
                clearFrom(b, (int) valid);
            }
            if (keep) {
                touched.put(c, b);
            }
            return b;
        }

        /** Sets the bits covering guest bytes [from, to). */
        void set(long from, long to) throws IOException {
            long first = from >>> granularityBits;
            long last = (to - 1) >>> granularityBits;
            for (long bit = first; bit <= last; ) {
                int c = (int) (bit / bitsPerChunk);
                long chunkEnd = Math.min(last, (c + 1) * bitsPerChunk - 1);
                setRange(chunk(c, true), (int) (bit - c * bitsPerChunk), (int) (chunkEnd - c * bitsPerChunk));
                bit = chunkEnd + 1;
            }
        }

        /** Sets bits a..b (inclusive) of a chunk; bit j of byte i is bit 8i+j (spec: "Bitmap data"). */
        private void setRange(byte[] b, int a, int z) {
            int i = a;
            while (i <= z && (i & 7) != 0) {
                b[i >>> 3] |= (byte) (1 << (i & 7));
                i++;
            }
            while (i + 7 <= z) {
                b[i >>> 3] = (byte) 0xff;
                i += 8;
            }
            while (i <= z) {
                b[i >>> 3] |= (byte) (1 << (i & 7));
                i++;
            }
        }

        private void clearFrom(byte[] b, int bit) {
            int i = bit;
            while ((i & 7) != 0) {
                b[i >>> 3] &= (byte) ~(1 << (i & 7));
                i++;
            }
            Arrays.fill(b, i >>> 3, b.length, (byte) 0);
        }
    }
}
