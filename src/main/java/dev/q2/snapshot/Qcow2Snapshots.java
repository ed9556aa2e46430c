package dev.q2.snapshot;

import dev.q2.format.Features;
import dev.q2.format.Limits;
import dev.q2.format.QcowHeader;
import dev.q2.image.DiskOptions;
import dev.q2.image.MetadataAccess;
import dev.q2.image.Qcow2Disk;
import dev.q2.image.Qcow2Metadata;
import dev.q2.image.RefcountAllocator;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Internal snapshots of a qcow2 image, as QEMU 7.2's qcow2 driver lists, creates, applies and deletes them
 * (block/qcow2-snapshot.c): the same files byte for byte (dates aside), the same refusals, the same write order, so
 * that a crash between any two writes leaves an image that {@code qemu-img check -r all} repairs without losing
 * guest data (at worst leaked clusters, or OFLAG_COPIED flags to fix).
 *
 * <p>Open an image with {@link #open}, run operations, {@link #close} it. The image is opened as qemu-img snapshot
 * opens it (a {@link Qcow2Disk} with its backing chain, QEMU's locks, a dirty image repaired, persistent bitmaps
 * marked in use and stored again on close), read-only for {@link #list} alone.
 */
public final class Qcow2Snapshots implements AutoCloseable {
    private final Qcow2Disk disk;
    private final MetadataAccess meta;
    private final ImageFile file;
    private final boolean hasBitmaps;
    private List<StoredSnapshot> snapshots;
    private long tableSize;
    private long[] l1;
    /** Called at every sync point (crash tests copy the file there). */
    private Runnable syncPoint = () -> { };

    private Qcow2Snapshots(Qcow2Disk disk) throws IOException {
        this.disk = disk;
        this.meta = disk.metadataAccess();
        this.file = meta.file();
        QcowHeader h = meta.header();
        Qcow2Metadata md = Qcow2Metadata.load(file);
        this.hasBitmaps = !md.bitmaps().isEmpty();
        this.l1 = md.l1Table().clone();
        SnapshotTableIO.Table t = SnapshotTableIO.read(file, h.snapshotsOffset(), h.nbSnapshots(), meta.diskSize());
        this.snapshots = new ArrayList<>(t.entries());
        this.tableSize = t.size();
    }

    /**
     * Opens a qcow2 image for snapshot operations; read-only (and without locks with {@code forceShare}) when
     * {@code writable} is false. Messages of a dirty image's repair go to {@code diagnostics}.
     */
    public static Qcow2Snapshots open(Path path, boolean writable, boolean forceShare, PrintWriter diagnostics)
            throws IOException {
        return open(path, writable, forceShare, null, diagnostics);
    }

    /**
     * As {@link #open(Path, boolean, boolean, PrintWriter)}, with a data file named relatively found in {@code workDir}
     * (null: the process's working folder), as QEMU finds it.
     */
    public static Qcow2Snapshots open(Path path, boolean writable, boolean forceShare, Path workDir,
                                      PrintWriter diagnostics) throws IOException {
        DiskOptions opt = (writable ? DiskOptions.readWrite() : DiskOptions.readOnly().withForceShare(forceShare))
                .withWorkDir(workDir);
        Qcow2Disk disk = Qcow2Disk.open(path, opt, diagnostics);
        dev.q2.util.Phases.mark("open: disk");
        try {
            return new Qcow2Snapshots(disk);
        } catch (IOException | RuntimeException e) {
            try {
                disk.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** For crash tests: runs {@code r} at every point where the operation syncs the file. */
    void onSync(Runnable r) {
        this.syncPoint = r;
    }

    /**
     * The snapshots as qemu-img snapshot -l lists them; an image with an external data file lists none (QEMU's
     * qcow2_snapshot_list refuses it, and qemu-img prints nothing).
     */
    public List<SnapshotInfo> list() {
        if (meta.hasExternalDataFile()) {
            return List.of();
        }
        List<SnapshotInfo> out = new ArrayList<>(snapshots.size());
        for (StoredSnapshot s : snapshots) {
            out.add(new SnapshotInfo(cut(s.id(), 127), cut(s.name(), 255), s.vmStateSize(), s.dateSec(),
                    s.dateNsec(), s.vmClockNsec(), s.icount()));
        }
        return out;
    }

    private static String cut(byte[] b, int max) {
        return new String(b, 0, Math.min(b.length, max), StandardCharsets.UTF_8);
    }

    /**
     * qemu-img snapshot -c: a disk-only snapshot named {@code name} (cut to 255 bytes, as qemu-img copies it) dated
     * {@code dateSec}/{@code dateNsec}; its ID is one more than the largest numeric ID (strtoul), as QEMU picks it.
     * Names need not be unique. Returns the new snapshot's ID.
     */
    public String create(String name, long dateSec, long dateNsec) throws IOException {
        dev.q2.util.Phases.mark("open: snapshots");
        if (snapshots.size() >= Limits.MAX_SNAPSHOTS) {
            throw new SnapshotException(SnapshotException.Errno.EFBIG, "File too large");
        }
        if (meta.hasExternalDataFile()) {
            throw new SnapshotException(SnapshotException.Errno.ENOTSUP, "Operation not supported");
        }
        byte[] nameBytes = cName(name, 255);
        byte[] id = newId().getBytes(StandardCharsets.US_ASCII);
        RefcountAllocator rc = meta.refcounts();
        QcowHeader h = meta.header();
        long l1Offset;
        try {
            l1Offset = rc.allocClusters(l1.length * 8L);
        } catch (SnapshotException e) {
            throw e;
        } catch (IOException e) {
            // QEMU returns the block layer's errno: EFBIG for a refcount table past its limit, EIO for a refcount
            // block at an offset it refuses
            throw new SnapshotException(RefcountWalk.TABLE_FULL.equals(e.getMessage())
                    ? SnapshotException.Errno.EFBIG : SnapshotException.Errno.EIO, e.getMessage());
        }
        dev.q2.util.Phases.mark("create: L1 allocated");
        ByteBuffer copy = ByteBuffer.allocate(l1.length * 8).order(ByteOrder.BIG_ENDIAN);
        copy.asLongBuffer().put(l1);
        file.writeFully(l1Offset, copy);
        dev.q2.util.Phases.mark("create: L1 copy");
        RefcountWalk walk = new RefcountWalk(meta, syncPoint);
        try {
            walk.walk(h.l1TableOffset(), l1, 1);
        } catch (SnapshotException e) {
            walk.writeBackAfterFailure();
            throw e;
        }
        dev.q2.util.Phases.mark("create: refcount walk");
        StoredSnapshot sn = new StoredSnapshot(l1Offset, l1.length, id, nameBytes, dateSec & 0xffffffffL,
                dateNsec & 0xffffffffL, 0, 0, meta.diskSize(), 0, StoredSnapshot.KNOWN_EXTRA, new byte[0]);
        List<StoredSnapshot> next = new ArrayList<>(snapshots);
        next.add(sn);
        writeTable(next);
        // (QEMU then discards the VM state area of the active L1 table: nothing, for a disk-only snapshot)
        return new String(id, StandardCharsets.US_ASCII);
    }

    /** A C string of at most {@code max} bytes, as pstrcpy copies it into a fixed buffer (cut at a NUL too). */
    private static byte[] cName(String s, int max) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        int n = 0;
        while (n < b.length && n < max && b[n] != 0) {
            n++;
        }
        return Arrays.copyOf(b, n);
    }

    /** find_new_snapshot_id: the largest ID as strtoul reads it, plus one (unsigned long arithmetic). */
    private String newId() {
        long max = 0;
        for (StoredSnapshot s : snapshots) {
            long id = strtoul(s.idString());
            if (Long.compareUnsigned(id, max) > 0) {
                max = id;
            }
        }
        return Long.toUnsignedString(max + 1);
    }

    /** glibc's strtoul in base 10: leading space, a sign, digits; ULONG_MAX on overflow; 0 without digits. */
    static long strtoul(String s) {
        int i = 0;
        while (i < s.length() && (s.charAt(i) == ' ' || (s.charAt(i) >= '\t' && s.charAt(i) <= '\r'))) {
            i++;
        }
        boolean negative = false;
        if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            negative = s.charAt(i) == '-';
            i++;
        }
        long v = 0;
        boolean overflow = false;
        int digits = 0;
        for (; i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9'; i++, digits++) {
            int d = s.charAt(i) - '0';
            if (Long.compareUnsigned(v, Long.divideUnsigned(-1L - d, 10)) > 0) {
                overflow = true;
            }
            v = v * 10 + d;
        }
        if (digits == 0) {
            return 0;
        }
        if (overflow) {
            return -1L;
        }
        return negative ? -v : v;
    }

    /**
     * The disk size qemu-img snapshot -a of {@code idOrName} truncates the image to before it loads the snapshot
     * (qcow2_snapshot_goto resizes the disk to the snapshot's size once the snapshot is found and its L1 table is
     * valid), or -1 when {@link #apply} needs no resize or refuses before it. The caller resizes the image
     * ({@code resize.Resizer}, with this object closed: the resize holds the image's locks itself), then applies.
     */
    public long sizeToApply(String idOrName) {
        if (hasBitmaps || meta.hasExternalDataFile()) {
            return -1;
        }
        int index = find(idOrName, null);
        if (index < 0) {
            index = find(null, idOrName);
        }
        if (index < 0 || validateL1(snapshots.get(index)) != null) {
            return -1;
        }
        long size = snapshots.get(index).diskSize();
        return size == meta.diskSize() ? -1 : size;
    }

    /**
     * qemu-img snapshot -a: the active L1 table becomes the snapshot's (found by ID, else by name), refcounts
     * adjusted. Refused as QEMU refuses it: an image with persistent bitmaps ("Device has active dirty bitmaps"),
     * with an external data file, an unknown snapshot. A snapshot of another disk size needs the image resized
     * first ({@link #sizeToApply}); q2 does not grow the active L1 table for a larger snapshot one (refused).
     */
    public void apply(String idOrName) throws IOException {
        if (hasBitmaps) {
            throw new SnapshotException(SnapshotException.Errno.EBUSY, "Device has active dirty bitmaps");
        }
        if (meta.hasExternalDataFile()) {
            throw loadFailure(SnapshotException.Errno.ENOTSUP, null);
        }
        int index = find(idOrName, null);
        if (index < 0) {
            index = find(null, idOrName);
        }
        if (index < 0) {
            throw loadFailure(SnapshotException.Errno.ENOENT, null);
        }
        StoredSnapshot sn = snapshots.get(index);
        SnapshotException invalid = validateL1(sn);
        if (invalid != null) {
            throw loadFailure(invalid.errno(), invalid.getMessage());
        }
        if (sn.diskSize() != meta.diskSize()) {
            throw new SnapshotException(SnapshotException.Errno.ENOTSUP, "the disk is not the snapshot's size ("
                    + sn.diskSize() + " bytes, the disk has " + meta.diskSize() + "): resize it first (sizeToApply)");
        }
        if (sn.l1Size() > l1.length) {
            throw new SnapshotException(SnapshotException.Errno.ENOTSUP, "q2 cannot load a snapshot whose L1 table"
                    + " is larger than the active one");
        }
        QcowHeader h = meta.header();
        long[] snL1 = new long[l1.length];
        long[] stored = readL1(sn.l1TableOffset(), sn.l1Size());
        System.arraycopy(stored, 0, snL1, 0, stored.length);
        RefcountWalk walk = new RefcountWalk(meta, syncPoint);
        try {
            walk.walk(sn.l1TableOffset(), stored, 1);
        } catch (SnapshotException e) {
            walk.writeBackAfterFailure();
            throw loadFailure(e.errno(), null);
        }
        ByteBuffer b = ByteBuffer.allocate(snL1.length * 8).order(ByteOrder.BIG_ENDIAN);
        b.asLongBuffer().put(snL1);
        file.writeFully(h.l1TableOffset(), b);
        sync();
        // the old active table's references go, using the table as it was in memory
        long[] old = l1;
        l1 = snL1;
        try {
            walk.walk(h.l1TableOffset(), old, -1);
            walk.walk(h.l1TableOffset(), l1, 0);
        } catch (SnapshotException e) {
            walk.writeBackAfterFailure();
            throw loadFailure(e.errno(), null);
        }
    }

    private static SnapshotException loadFailure(SnapshotException.Errno errno, String preface) {
        return new SnapshotException(errno, "Failed to load snapshot: " + errno.text, preface);
    }

    /**
     * qemu-img snapshot -d: as qemu-img resolves the argument, by name only (the first snapshot with that name; an
     * ID alone is "snapshot not found"), then deleted: the table rewritten without it, the refcounts of what it
     * referenced lowered (what only it held freed and discarded), its L1 table freed, OFLAG_COPIED updated in the
     * active tables.
     */
    public void delete(String name) throws IOException {
        if (meta.hasExternalDataFile()) {
            throw new SnapshotException(SnapshotException.Errno.ENOENT, "snapshot not found"); // the list fails
        }
        int byName = find(null, name);
        if (byName < 0) {
            throw new SnapshotException(SnapshotException.Errno.ENOENT, "snapshot not found");
        }
        StoredSnapshot found = snapshots.get(byName);
        int index = find(found.idString(), found.nameString());
        StoredSnapshot sn = snapshots.get(index);
        SnapshotException invalid = validateL1(sn);
        if (invalid != null) {
            throw invalid;
        }
        List<StoredSnapshot> next = new ArrayList<>(snapshots);
        next.remove(index);
        try {
            writeTable(next);
        } catch (SnapshotException e) {
            throw new SnapshotException(e.errno(), "Failed to remove snapshot from snapshot list: " + e.errno().text);
        }
        dev.q2.util.Phases.mark("delete: table written");
        RefcountWalk walk = new RefcountWalk(meta, syncPoint);
        try {
            walk.walk(sn.l1TableOffset(), readL1(sn.l1TableOffset(), sn.l1Size()), -1);
        } catch (SnapshotException e) {
            walk.writeBackAfterFailure();
            throw new SnapshotException(e.errno(), "Failed to free the cluster and L1 table: " + e.errno().text,
                    e.preface());
        }
        dev.q2.util.Phases.mark("delete: walk -1");
        free(sn.l1TableOffset(), sn.l1Size() * 8L);
        try {
            walk.walk(meta.header().l1TableOffset(), l1, 0);
        } catch (SnapshotException e) {
            walk.writeBackAfterFailure();
            throw new SnapshotException(e.errno(), "Failed to update snapshot status in disk: " + e.errno().text,
                    e.preface());
        }
    }

    /** find_snapshot_by_id_and_name: the first entry matching what is given. */
    private int find(String id, String name) {
        byte[] idb = id == null ? null : cName(id, Integer.MAX_VALUE);
        byte[] nb = name == null ? null : cName(name, Integer.MAX_VALUE);
        for (int i = 0; i < snapshots.size(); i++) {
            StoredSnapshot s = snapshots.get(i);
            if ((idb == null || Arrays.equals(s.id(), idb)) && (nb == null || Arrays.equals(s.name(), nb))) {
                return i;
            }
        }
        return -1;
    }

    /** qcow2_validate_table for a snapshot's L1 table. */
    private SnapshotException validateL1(StoredSnapshot sn) {
        return validateL1(sn.l1TableOffset(), sn.l1Size(), meta.header().clusterSize());
    }

    /**
     * qcow2_validate_table for a snapshot's L1 table of {@code l1Size} entries (unsigned) at {@code offset}: null,
     * or the failure in QEMU's words and errno ("Snapshot L1 table too large", EFBIG; "Snapshot L1 table offset
     * invalid", EINVAL).
     */
    public static SnapshotException validateL1(long offset, int l1Size, long clusterSize) {
        long entries = Integer.toUnsignedLong(l1Size);
        if (entries > Limits.MAX_L1_SIZE / 8) {
            return new SnapshotException(SnapshotException.Errno.EFBIG, "Snapshot L1 table too large");
        }
        long size = entries * 8;
        if (Long.MAX_VALUE - size < offset || (offset & (clusterSize - 1)) != 0) {
            return new SnapshotException(SnapshotException.Errno.EINVAL, "Snapshot L1 table offset invalid");
        }
        return null;
    }

    private long[] readL1(long offset, int entries) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(entries * 8).order(ByteOrder.BIG_ENDIAN);
        file.readZeroFilled(offset, b);
        long[] out = new long[entries];
        b.clear();
        b.asLongBuffer().get(out);
        return out;
    }

    /**
     * qcow2_write_snapshots: a new table in new clusters, synced with its refcounts before the header points at it
     * (a synced write of nb_snapshots and snapshots_offset), then the old table freed.
     */
    private void writeTable(List<StoredSnapshot> next) throws IOException {
        RefcountAllocator rc = meta.refcounts();
        long size = SnapshotTableIO.size(next);
        long offset = writeTable(file, rc, next, size, this::sync);
        QcowHeader h = meta.header();
        meta.headerChanged(new QcowHeader(h.version(), h.backingFileOffset(), h.backingFileSize(), h.clusterBits(),
                h.size(), h.cryptMethod(), h.l1Size(), h.l1TableOffset(), rc.tableOffset(), rc.tableClusters(),
                next.size(), offset, h.incompatibleFeatures(), h.compatibleFeatures(), h.autoclearFeatures(),
                h.refcountOrder(), h.headerLength(), h.compressionType()));
        long oldOffset = h.snapshotsOffset();
        long oldSize = tableSize;
        snapshots = next;
        tableSize = size;
        free(file, rc, h.clusterSize(), oldOffset, oldSize);
    }

    /** A sync point of an operation (the file flushed, and what a test wants to see there). */
    public interface Sync {
        void sync() throws IOException;
    }

    /**
     * The table of {@code next} ({@code size} bytes) written as qcow2_write_snapshots writes it, up to the synced
     * header update; returns its offset. The caller frees the old table.
     */
    private static long writeTable(ImageFile file, RefcountAllocator rc, List<StoredSnapshot> next, long size,
                                   Sync sync) throws IOException {
        if (size < 0) {
            throw new SnapshotException(SnapshotException.Errno.EFBIG, "File too large");
        }
        long offset = rc.allocClusters(size);
        rc.flush();
        sync.sync();
        file.writeFully(offset, SnapshotTableIO.encode(next, (int) size));
        sync.sync();
        ByteBuffer hdr = ByteBuffer.allocate(12).order(ByteOrder.BIG_ENDIAN);
        hdr.putInt(next.size()).putLong(offset).flip();
        file.writeFully(60, hdr);
        sync.sync();
        return offset;
    }

    /**
     * What QEMU's upgrade to version 3 (qcow2_upgrade) does before it changes the version: when an entry of the
     * snapshot table lacks the extra data version 3 requires (the 64-bit VM state size and the disk size), the
     * table is written again with qcow2_write_snapshots, which gives every entry the extra data QEMU 7.2 knows (the
     * disk size of an entry without one is the image's, its instruction count -1), keeps extra data it does not
     * know, and frees the old table. Returns whether it rewrote the table; the caller reloads the header.
     */
    public static boolean completeExtraData(ImageFile file, RefcountAllocator rc, QcowHeader h, Sync sync)
            throws IOException {
        SnapshotTableIO.Table t = SnapshotTableIO.read(file, h.snapshotsOffset(), h.nbSnapshots(), h.size() & ~511L);
        boolean incomplete = false;
        for (StoredSnapshot s : t.entries()) {
            incomplete |= s.extraDataSize() < 16;
        }
        if (!incomplete) {
            return false;
        }
        List<StoredSnapshot> entries = t.entries();
        writeTable(file, rc, entries, SnapshotTableIO.size(entries), sync);
        free(file, rc, h.clusterSize(), h.snapshotsOffset(), t.size());
        return true;
    }

    /** qcow2_free_clusters with QCOW2_DISCARD_SNAPSHOT: clusters whose refcount drops to 0 are discarded. */
    private void free(long offset, long size) throws IOException {
        free(file, meta.refcounts(), meta.header().clusterSize(), offset, size);
    }

    private static void free(ImageFile file, RefcountAllocator rc, long cs, long offset, long size)
            throws IOException {
        if (size <= 0) {
            return;
        }
        long first = offset & ~(cs - 1);
        for (long c = first; c < offset + size; c += cs) {
            if (rc.refcount(c / cs) == 0) {
                continue; // QEMU fails the free (EINVAL) and leaves the rest; nothing to discard
            }
            rc.addReferences(c, cs, -1);
            if (rc.refcount(c / cs) == 0) {
                file.punchHole(c, cs);
            }
        }
    }

    private void sync() throws IOException {
        meta.sync();
        syncPoint.run();
    }

    /** Closes the image as qemu-img does (refcounts written, persistent bitmaps stored, locks released). */
    @Override
    public void close() throws IOException {
        disk.close();
    }

    /** Whether the image's header says it keeps guest data in an external data file. */
    public boolean hasExternalDataFile() {
        return (meta.header().incompatibleFeatures() & Features.INCOMPAT_DATA_FILE) != 0;
    }
}
