package dev.q2.bitmap;

import dev.q2.format.BitmapDirectoryEntry;
import dev.q2.image.Devices;
import dev.q2.image.DiskOptions;
import dev.q2.image.ImageException;
import dev.q2.format.Limits;
import dev.q2.image.PersistentBitmaps;
import dev.q2.image.Qcow2Disk;
import dev.q2.image.Qcow2Metadata;
import dev.q2.io.ImageFile;
import dev.q2.io.LockedFile;
import dev.q2.io.QemuLock;
import dev.q2.probe.FormatProber;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * qemu-img bitmap: adds, removes, clears, enables, disables and merges the persistent dirty bitmaps of an image,
 * as qemu-img 7.2's img_bitmap does it through QEMU's block layer (block/monitor/bitmap-qmp-cmds.c,
 * block/dirty-bitmap.c, block/qcow2-bitmap.c):
 *
 * <ul>
 * <li>the image is opened for writing without its backing chain, which loads every bitmap and marks it in use;</li>
 * <li>the actions run in the order given, each checked as QEMU checks it; the first that fails stops the run
 * ({@link BitmapOperationException}), the ones before it stand;</li>
 * <li>{@code remove} rewrites the bitmap directory at once; everything else lives in memory until the image is
 * closed, when every bitmap is stored again to new clusters (QEMU's qcow2_store_persistent_dirty_bitmaps).</li>
 * </ul>
 */
public final class BitmapEditor {
    private static final String INCONSISTENT_HINT = "Try block-dirty-bitmap-remove to delete this bitmap from disk";

    private BitmapEditor() {
    }

    /** An image that could not be opened: which one, and why (the cause). */
    public static final class OpenFailure extends dev.q2.Q2Exception {
        private final Path file;

        OpenFailure(Path file, IOException cause) {
            super(Category.IO_ERROR, cause.getMessage(), cause);
            this.file = file;
        }

        public Path file() {
            return file;
        }
    }

    /**
     * What to do.
     *
     * @param file the image
     * @param format its format ("qcow2" or "raw"), or null to probe it
     * @param bitmap the bitmap every action is about
     * @param actions the actions, in order
     * @param granularity the granularity of an added bitmap in bytes as given (0: QEMU's default); QEMU passes it on
     *     as a 32-bit number, so only its low 32 bits count
     * @param sourceFile the image that {@code merge} takes its source bitmap from, or null for {@code file}
     * @param sourceFormat its format, or null to probe it
     */
    public record Request(Path file, String format, String bitmap, List<BitmapAction> actions, long granularity,
                          Path sourceFile, String sourceFormat) {
    }

    /** QEMU's default granularity: the cluster size, at least 4 KiB and at most 64 KiB. */
    public static long defaultGranularity(long clusterSize) {
        return Math.min(65536, Math.max(4096, clusterSize));
    }

    /**
     * Runs the actions.
     *
     * @throws BitmapOperationException when an action fails (QEMU's reason); the earlier actions took effect
     * @throws IOException when an image cannot be opened or written
     */
    public static void run(Request r) throws IOException {
        String fmt;
        try {
            fmt = r.format() != null ? r.format() : Devices.probe(r.file());
        } catch (IOException e) {
            throw new OpenFailure(r.file(), e);
        }
        if (fmt.equals("raw")) {
            LockedFile raw;
            try {
                raw = LockedFile.open(r.file(), true, QemuLock.PERM_CONSISTENT_READ | QemuLock.PERM_WRITE
                        | QemuLock.PERM_RESIZE, QemuLock.PERM_CONSISTENT_READ | QemuLock.PERM_WRITE_UNCHANGED);
            } catch (IOException e) {
                throw new OpenFailure(r.file(), e);
            }
            try (raw) {
                Sources src = openSource(r, null);
                try (src) {
                    for (BitmapAction a : r.actions()) {
                        if (a.kind() == BitmapAction.Kind.ADD) {
                            if (r.bitmap().isEmpty()) {
                                throw fail(a, r, "Bitmap name cannot be empty");
                            }
                            checkGranularity(a, r);
                            throw fail(a, r, "Can't store persistent bitmaps to " + nodeName()
                                    + ": Operation not supported");
                        }
                        throw fail(a, r, notFound(r.bitmap()));
                    }
                }
            }
            return;
        }
        if (!fmt.equals("qcow2")) {
            throw new OpenFailure(r.file(), new ImageException(FormatProber.FOREIGN.contains(fmt)
                    ? FormatProber.cannotRead(fmt) : "Unknown driver '" + fmt + "'"));
        }
        Qcow2Disk opened;
        try {
            opened = Qcow2Disk.open(r.file(), DiskOptions.readWrite().withoutBacking());
        } catch (IOException e) {
            throw new OpenFailure(r.file(), e);
        }
        try (Qcow2Disk disk = opened) {
            PersistentBitmaps pb = disk.persistentBitmaps();
            try (Sources src = openSource(r, pb)) {
                for (BitmapAction a : r.actions()) {
                    apply(a, r, disk, pb, src.bitmaps);
                }
            }
        }
    }

    /** The bitmaps merges read from: the image's own, or another image's, then opened read-only as {@code other}. */
    private record Sources(PersistentBitmaps bitmaps, LockedFile other) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            if (other != null) {
                other.close();
            }
        }
    }

    private static Sources openSource(Request r, PersistentBitmaps own) throws IOException {
        if (r.sourceFile() == null) {
            return new Sources(own, null);
        }
        try {
            return openOther(r);
        } catch (IOException e) {
            throw new OpenFailure(r.sourceFile(), e);
        }
    }

    private static Sources openOther(Request r) throws IOException {
        String fmt = r.sourceFormat() != null ? r.sourceFormat() : Devices.probe(r.sourceFile());
        if (!fmt.equals("qcow2") && !fmt.equals("raw")) {
            throw new ImageException(FormatProber.FOREIGN.contains(fmt) ? FormatProber.cannotRead(fmt)
                    : "Unknown driver '" + fmt + "'");
        }
        LockedFile other = LockedFile.open(r.sourceFile(), false, QemuLock.PERM_CONSISTENT_READ,
                QemuLock.PERM_ALL & ~(QemuLock.PERM_WRITE | QemuLock.PERM_RESIZE));
        try {
            ImageFile f = other.file();
            PersistentBitmaps pb = fmt.equals("qcow2") ? PersistentBitmaps.readOnly(f, Qcow2Metadata.load(f)) : null;
            return new Sources(pb, other);
        } catch (IOException | RuntimeException e) {
            other.close();
            throw e;
        }
    }

    private static void apply(BitmapAction a, Request r, Qcow2Disk disk, PersistentBitmaps pb, PersistentBitmaps src)
            throws IOException {
        String name = r.bitmap();
        switch (a.kind()) {
            case ADD -> add(a, r, disk, pb);
            case REMOVE -> {
                if (!pb.exists(name)) {
                    throw fail(a, r, notFound(name));
                }
                pb.remove(name);
            }
            case CLEAR -> {
                requireConsistent(a, r, pb, name);
                pb.clear(name);
            }
            case ENABLE, DISABLE -> {
                requireConsistent(a, r, pb, name);
                pb.setEnabled(name, a.kind() == BitmapAction.Kind.ENABLE);
            }
            case MERGE -> {
                if (!pb.exists(name)) {
                    throw fail(a, r, notFound(name));
                }
                if (src == null || !src.exists(a.source())) {
                    throw fail(a, r, notFound(a.source()));
                }
                requireConsistent(a, r, pb, name);
                if (src.inconsistent(a.source())) {
                    throw new BitmapOperationException(a.kind(), name, inconsistent(a.source()), INCONSISTENT_HINT);
                }
                if (src.diskSize() != pb.diskSize()) {
                    throw fail(a, r, "Bitmaps are of different sizes (destination size is " + pb.diskSize()
                            + ", source size is " + src.diskSize() + ") and can't be merged");
                }
                src.forEachDirty(a.source(), (from, to) -> pb.setDirty(name, from, to));
            }
            default -> throw new IllegalStateException();
        }
    }

    private static void add(BitmapAction a, Request r, Qcow2Disk disk, PersistentBitmaps pb) throws IOException {
        String name = r.bitmap();
        if (name.isEmpty()) {
            throw fail(a, r, "Bitmap name cannot be empty");
        }
        long g = checkGranularity(a, r);
        String refusal = create(disk, pb, name, g == 0 ? defaultGranularity(disk.header().clusterSize()) : g);
        if (refusal != null) {
            throw fail(a, r, refusal);
        }
    }

    /**
     * Creates a persistent bitmap as QEMU's block-dirty-bitmap-add does once the granularity is known (a power of
     * two, at least 512): the name must be new, the image v3, and the bitmap within qcow2's limits. Returns QEMU's
     * reason when it refuses, else null.
     */
    static String create(Qcow2Disk disk, PersistentBitmaps pb, String name, long g) {
        if (pb.exists(name)) {
            return "Bitmap already exists: " + name;
        }
        String prefix = "Can't make bitmap '" + name + "' persistent in '" + nodeName() + "': ";
        if (disk.header().version() < 3) {
            return prefix + "Cannot store dirty bitmaps in qcow2 v2 files";
        }
        int bits = Long.numberOfTrailingZeros(g);
        if (bits > BitmapDirectoryEntry.MAX_GRANULARITY_BITS) {
            return prefix + "Granularity exceeds maximum (2147483648 bytes)";
        }
        long size = pb.diskSize();
        long bitmapBytes = ceilDiv(ceilDiv(size, g), 8);
        if (bitmapBytes > BitmapDirectoryEntry.MAX_PHYS_SIZE
                || bitmapBytes > BitmapDirectoryEntry.MAX_TABLE_SIZE * pb.clusterSize()) {
            return prefix + "Too much space will be occupied by the bitmap. Use larger granularity";
        }
        if (name.getBytes(StandardCharsets.UTF_8).length > BitmapDirectoryEntry.MAX_NAME_SIZE) {
            return prefix + "Name length exceeds maximum (1023 characters)";
        }
        long[] usage = pb.directoryUsageWith(name);
        if (usage[0] > Limits.MAX_BITMAPS) {
            return prefix + "Maximum number of persistent bitmaps is already reached";
        }
        if (usage[1] > Limits.MAX_BITMAP_DIRECTORY_SIZE) {
            return prefix + "Not enough space in the bitmap directory";
        }
        pb.create(name, bits);
        return null;
    }

    /** The granularity as QEMU takes it (the low 32 bits of -g), 0 for the default; refused as QEMU refuses it. */
    private static long checkGranularity(BitmapAction a, Request r) throws BitmapOperationException {
        if (r.granularity() == 0) {
            return 0;
        }
        long g = r.granularity() & 0xffffffffL;
        if (g < 512 || Long.bitCount(g) != 1) {
            throw fail(a, r, "Granularity must be power of 2 and at least 512");
        }
        return g;
    }

    private static void requireConsistent(BitmapAction a, Request r, PersistentBitmaps pb, String name)
            throws BitmapOperationException {
        if (!pb.exists(name)) {
            throw fail(a, r, notFound(name));
        }
        if (pb.inconsistent(name)) {
            throw new BitmapOperationException(a.kind(), r.bitmap(), inconsistent(name), INCONSISTENT_HINT);
        }
    }

    private static String inconsistent(String name) {
        return "Bitmap '" + name + "' is inconsistent and cannot be used";
    }

    private static String notFound(String name) {
        return "Dirty bitmap '" + name + "' not found";
    }

    private static BitmapOperationException fail(BitmapAction a, Request r, String reason) {
        return new BitmapOperationException(a.kind(), r.bitmap(), reason, null);
    }

    /**
     * The name QEMU gives the image's node in its messages: generated as "#block", a counter (1: the image is the
     * first node qemu-img opens) and two random digits.
     */
    static String nodeName() {
        return String.format("#block1%02d", ThreadLocalRandom.current().nextInt(100));
    }

    private static long ceilDiv(long a, long b) {
        return a / b + (a % b != 0 ? 1 : 0);
    }
}
