package dev.q2.image;

import dev.q2.format.BitmapDirectory;
import dev.q2.format.BitmapDirectoryEntry;
import dev.q2.format.BitmapsExtension;
import dev.q2.format.Features;
import dev.q2.format.FormatException;
import dev.q2.format.HeaderExtension;
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
 */
public final class PersistentBitmaps {
    /** Syncs the image file when the disk is durable (QEMU's bdrv_flush, a no-op with cache=unsafe). */
    interface Sync {
        void sync() throws IOException;
    }

    private final ImageFile file;
    private final RefcountAllocator refcounts;
    private final Sync sync;
    private final long cs;
    private final long diskSize;
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

    /** The header as this class last wrote it (autoclear bits). */
    public QcowHeader header() {
        return header;
    }

    /**
     * Does to the header of an image opened for writing what QEMU's open does, and loads its bitmaps; see the class
     * comment. Fails with QEMU's messages when the bitmap directory is broken.
     */
    static PersistentBitmaps open(ImageFile file, Qcow2Image img, RefcountAllocator refcounts, Sync sync)
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
        byte[] raw = HeaderExtension.first(img.extensions(), HeaderExtension.BITMAPS).orElseThrow().data();
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
        if ((autoclear & Features.AUTOCLEAR_BITMAPS) == 0
                && extensions.removeIf(e -> e.type() == HeaderExtension.BITMAPS)) {
            Diagnostics.info(PersistentBitmaps.class, "a program lacking bitmap support modified {}, so all bitmaps"
                    + " are now considered inconsistent; the bitmaps extension is dropped", file.path());
            update = true;
        }
        return update;
    }

    /**
     * What a read-write open for {@code check -r} does to the header before the check (QEMU opens the image
     * read-write for a repair): unknown autoclear bits are cleared and an ignored bitmaps extension is dropped.
     * Returns whether the header was rewritten (the caller then loads the image again).
     */
    public static boolean updateHeaderForRepair(ImageFile file, Qcow2Image img) throws IOException {
        PersistentBitmaps pb = new PersistentBitmaps(file, null, file::flush, img.header(), img.extensions());
        if (!pb.clearUnknownAutoclear()) {
            return false;
        }
        pb.writeHeader();
        file.flush();
        return true;
    }

    /**
     * Frees a bitmap's data cluster as QEMU does (QCOW2_DISCARD_ALWAYS, always passed down; its tables and directory
     * are freed with QCOW2_DISCARD_OTHER, which is not): a cluster no longer referenced becomes a hole in the file.
     */
    private void freeAlways(long offset, long length) throws IOException {
        refcounts.addReferences(offset, length, -1);
        if (length <= 0) {
            return;
        }
        for (long c = offset & -cs; c < offset + length; c += cs) {
            if (refcounts.refcount(c / cs) == 0) {
                file.punchHole(c, cs);
            }
        }
    }

    private void writeHeader() throws IOException {
        header = HeaderWriter.write(file, header, extensions, backingFile);
    }

    private static byte[] readBackingFileName(ImageFile file, QcowHeader h) throws IOException {
        if (h.backingFileOffset() == 0) {
            return null;
        }
        // bounds checked by Qcow2Image's open (name within the first cluster, at most 1023 bytes)
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
        ByteBuffer buf = ByteBuffer.allocate(n * 8).order(ByteOrder.BIG_ENDIAN);
        file.readZeroFilled(e.bitmapTableOffset(), buf);
        long[] table = new long[n];
        for (int i = 0; i < n; i++) {
            table[i] = buf.getLong(i * 8);
            if (!BitmapDirectory.validTableEntry(table[i], cs)) {
                throw new ImageException("Could not read bitmap_table table from image for bitmap '" + e.name()
                        + "': Invalid argument");
            }
        }
        return new Loaded(e.granularityBits(), e.auto(), table);
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
            long[] table = new long[l.table.length];
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
            if (l == null) {
                continue;
            }
            for (long entry : l.table) {
                long off = entry & BitmapDirectory.TABLE_ENTRY_OFFSET_MASK;
                if (off != 0) {
                    freeAlways(off, cs);
                }
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
        final boolean enabled;
        final long[] table;
        final long bits;
        final long bitsPerChunk;
        final Map<Integer, byte[]> touched = new HashMap<>();

        Loaded(int granularityBits, boolean enabled, long[] table) {
            this.granularityBits = granularityBits;
            this.enabled = enabled;
            this.table = table;
            this.bits = (diskSize + (1L << granularityBits) - 1) >>> granularityBits;
            this.bitsPerChunk = cs * 8;
        }

        /** Bits of table entry {@code c}; bits past the end of the disk are zero, as QEMU stores them. */
        byte[] chunk(int c, boolean keep) throws IOException {
            byte[] b = touched.get(c);
            if (b != null) {
                return b;
            }
            b = new byte[(int) cs];
            long entry = table[c];
            long off = entry & BitmapDirectory.TABLE_ENTRY_OFFSET_MASK;
            if (off != 0) {
                file.readZeroFilled(off, ByteBuffer.wrap(b));
            } else if ((entry & BitmapDirectory.TABLE_ENTRY_ALL_ONES) != 0) {
                Arrays.fill(b, (byte) 0xff);
            }
            long valid = Math.min(bitsPerChunk, bits - c * bitsPerChunk);
            if (valid < bitsPerChunk) {
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
