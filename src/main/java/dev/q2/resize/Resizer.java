package dev.q2.resize;

import dev.q2.Q2Exception.Category;
import dev.q2.create.Preallocation;
import dev.q2.format.Features;
import dev.q2.format.QcowHeader;
import dev.q2.image.Devices;
import dev.q2.image.ImageException;
import dev.q2.image.OpenRepair;
import dev.q2.image.PersistentBitmaps;
import dev.q2.image.Qcow2Metadata;
import dev.q2.image.RefcountAllocator;
import dev.q2.io.ImageFile;
import dev.q2.io.LockedFile;
import dev.q2.io.QemuLock;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * qemu-img resize (img_resize, then blk_truncate down to qcow2_co_truncate or the file's truncate) on qcow2 images
 * and raw files. A resize is one call to {@link #open} (which takes the image's locks as QEMU's read-write open
 * does) and one to {@link Open#resize}; the caller closes the result.
 */
public final class Resizer {
    /** The largest image size QEMU's block layer accepts (BDRV_MAX_LENGTH: INT64_MAX rounded down to 1 GiB). */
    public static final long BDRV_MAX_LENGTH = Long.MAX_VALUE & ~((1L << 30) - 1);

    private Resizer() {
    }

    /**
     * An image open for a resize.
     */
    public interface Open extends AutoCloseable {
        /** blk_getlength: the size in bytes, whole 512-byte sectors (a raw file's size rounded up). */
        long currentSize();

        /** The format the image was opened as ("qcow2" or "raw"). */
        String format();

        /** Truncates or grows to {@code newSize}, as blk_truncate with exact=true. */
        void resize(long newSize, Preallocation prealloc) throws IOException;

        @Override
        void close() throws IOException;
    }

    /**
     * Opens an image for a resize. {@code format} null probes it (the caller warns about a probed raw image, as
     * qemu-img does). {@code diagnostics} receives what a repair of a dirty image prints.
     */
    public static Open open(Path path, String format, PrintWriter diagnostics) throws IOException {
        String fmt = format != null ? format : Devices.probe(path);
        return switch (fmt) {
            case "qcow2" -> Qcow2Open.open(path, diagnostics);
            case "raw" -> RawOpen.open(path);
            default -> {
                if (dev.q2.probe.FormatProber.FOREIGN.contains(fmt)) {
                    try (ImageFile f = ImageFile.openReadOnly(path)) {
                        dev.q2.probe.FormatProber.readHeader(f, fmt); // the driver's own magic check first
                    }
                    throw new ImageException(dev.q2.probe.FormatProber.cannotRead(fmt));
                }
                throw new ImageException("Unknown driver '" + fmt + "'");
            }
        };
    }

    /** The checks of bdrv_co_truncate that come before the driver's. */
    static void checkRequest(long offset) throws ResizeException {
        if (offset < 0) {
            throw new ResizeException(Category.INVALID_ARGUMENT, "Image size cannot be negative");
        }
        if (offset > BDRV_MAX_LENGTH) {
            throw new ResizeException(Category.INVALID_ARGUMENT, "offset(" + offset + ") exceeds maximum("
                    + BDRV_MAX_LENGTH + ")");
        }
    }

    private static final class RawOpen implements Open {
        private final LockedFile raw;
        private final ImageFile file;

        private RawOpen(LockedFile raw) {
            this.raw = raw;
            this.file = raw.file();
        }

        static RawOpen open(Path path) throws IOException {
            return new RawOpen(LockedFile.open(path, true, QemuLock.PERM_CONSISTENT_READ | QemuLock.PERM_WRITE
                    | QemuLock.PERM_RESIZE, QemuLock.PERM_CONSISTENT_READ | QemuLock.PERM_WRITE_UNCHANGED));
        }

        @Override
        public String format() {
            return "raw";
        }

        @Override
        public long currentSize() {
            try {
                return (file.size() + 511) / 512 * 512;
            } catch (IOException e) {
                return -1;
            }
        }

        @Override
        public void resize(long newSize, Preallocation prealloc) throws IOException {
            checkRequest(newSize);
            long current = file.size();
            if (current > newSize && prealloc != Preallocation.OFF) {
                throw new ResizeException(Category.INVALID_ARGUMENT, "Cannot use preallocation for shrinking files");
            }
            switch (prealloc) {
                case OFF -> file.setLength(newSize);
                case FALLOC, FULL -> { // (falloc: blocks allocated as fallocate allocates them, by writing zeros)
                    file.setLength(newSize);
                    file.fillZeros(current, newSize);
                }
                default -> throw new ResizeException(Category.UNSUPPORTED, "Unsupported preallocation mode: "
                        + prealloc.optionValue());
            }
            file.flush();
        }

        @Override
        public void close() throws IOException {
            raw.close();
        }
    }

    /**
     * A qcow2 image opened for writing as QEMU's read-write open does it (locks, dirty repair, autoclear bits,
     * bitmaps marked in use); closing it stores the bitmaps. Also used by {@code dev.q2.amend}.
     */
    public static final class Qcow2Open implements Open {
        private final ImageFile file;
        private final QemuLock lock;
        private Qcow2Metadata img;
        /** The image as this open first read it: QEMU's view of the unknown header extensions (see reload). */
        private Qcow2Metadata opened;
        private RefcountAllocator refcounts;
        private final PersistentBitmaps bitmaps;
        private final Path path;
        private Long backingLength;

        private Qcow2Open(Path path, ImageFile file, QemuLock lock, Qcow2Metadata img, RefcountAllocator refcounts,
                          PersistentBitmaps bitmaps) {
            this.path = path;
            this.file = file;
            this.lock = lock;
            this.img = img;
            this.refcounts = refcounts;
            this.bitmaps = bitmaps;
        }

        public static Qcow2Open open(Path path, PrintWriter diagnostics) throws IOException {
            ImageFile f = ImageFile.openReadWrite(path);
            QemuLock lock = null;
            try {
                lock = QemuLock.acquire(f.channel(), path, QemuLock.PERM_CONSISTENT_READ | QemuLock.PERM_WRITE
                        | QemuLock.PERM_RESIZE, QemuLock.PERM_CONSISTENT_READ | QemuLock.PERM_WRITE_UNCHANGED);
                Qcow2Metadata img = Qcow2Metadata.load(f);
                Qcow2Metadata opened = img;
                QcowHeader h = img.header();
                if (h.hasFeature(Features.INCOMPAT_CORRUPT)) {
                    throw new ImageException("qcow2: Image is corrupt; cannot be opened read/write");
                }
                if (h.hasFeature(Features.INCOMPAT_DIRTY)) {
                    OpenRepair repair = OpenRepair.find();
                    if (repair == null) {
                        throw new ImageException("Image is dirty; repair it first with 'q2 check -r all'");
                    }
                    repair.repairDirty(f, diagnostics);
                    img = Qcow2Metadata.load(f).withUnknownExtensionsOf(opened);
                }
                RefcountAllocator rc = new RefcountAllocator(f, img.header().clusterBits(),
                        img.header().refcountOrder(), img.header().refcountTableOffset(), img.refcountTable());
                Long backingLength = backingLength(path, img);
                PersistentBitmaps pb = PersistentBitmaps.open(f, img, rc, f::flush);
                // the header as the open left it (the data file's name was checked by the open's load)
                img = Qcow2Metadata.loadForOpen(f, false, true).withUnknownExtensionsOf(opened);
                Qcow2Open o = new Qcow2Open(path, f, lock, img, rc, pb);
                o.opened = opened;
                o.backingLength = backingLength;
                return o;
            } catch (IOException | RuntimeException e) {
                if (lock != null) {
                    lock.close();
                }
                f.close();
                throw e;
            }
        }

        @Override
        public String format() {
            return "qcow2";
        }

        public ImageFile file() {
            return file;
        }

        public Path path() {
            return path;
        }

        /** The image as last loaded: call {@link #reload} after changing the header. */
        public Qcow2Metadata image() {
            return img;
        }

        public void reload() throws IOException {
            // (an amend may have cleared the data file's name: the open checked it, the user may have given it)
            img = Qcow2Metadata.loadForOpen(file, false, true).withUnknownExtensionsOf(opened);
        }

        public RefcountAllocator refcounts() {
            return refcounts;
        }

        /** After the refcount structures were rebuilt (amend's refcount_bits): the allocator over the new ones. */
        public void replaceRefcounts(RefcountAllocator rc) {
            refcounts = rc;
        }

        public PersistentBitmaps bitmaps() {
            return bitmaps;
        }

        private PersistentBitmaps.Sync sync;

        /** Makes the writes so far durable: the image file's fsync, or what a test puts in its place. */
        public void sync() throws IOException {
            if (sync != null) {
                sync.sync();
            } else {
                file.flush();
            }
        }

        /** Replaces what {@link #sync} does (crash tests copy the file there). */
        public void onSync(PersistentBitmaps.Sync s) {
            this.sync = s;
        }

        /** Whether the image has a backing file (QEMU opened it with the image). */
        public boolean hasBacking() {
            return backingLength != null;
        }

        @Override
        public long currentSize() {
            return img.header().size() & ~511L;
        }

        @Override
        public void resize(long newSize, Preallocation prealloc) throws IOException {
            checkRequest(newSize);
            QcowHeader h = img.header();
            long old = currentSize();
            boolean zeroWrite = false;
            if (newSize > old && backingLength != null) {
                zeroWrite = backingLength > old;
            }
            if ((newSize & 511) != 0) {
                throw new ResizeException(Category.INVALID_ARGUMENT, "The new size must be a multiple of 512");
            }
            if (h.nbSnapshots() != 0 && h.version() < 3) {
                throw new ResizeException(Category.UNSUPPORTED, "Can't resize a v2 image which has snapshots");
            }
            List<String> inconsistent = bitmaps.inconsistent();
            if (!inconsistent.isEmpty()) {
                throw new ResizeException(Category.UNSUPPORTED, "Bitmap '" + inconsistent.get(0)
                        + "' is inconsistent and cannot be used\n"
                        + "Try block-dirty-bitmap-remove to delete this bitmap from disk");
            }
            ImageFile data = file;
            boolean dataFileRaw = false;
            try {
                if (h.hasFeature(Features.INCOMPAT_DATA_FILE)) {
                    data = ImageFile.openReadWrite(path.resolveSibling(img.dataFile()));
                    dataFileRaw = (h.autoclearFeatures() & Features.AUTOCLEAR_DATA_FILE_RAW) != 0;
                }
                Qcow2Truncate t = new Qcow2Truncate(file, data, h, img.l1Table(), refcounts, dataFileRaw, this::sync);
                if (backingLength != null) {
                    Path bp = backingPath(path, img);
                    String bfmt = img.backingFormat();
                    t.withBacking((offset, dst) -> {
                        try (var dev = Devices.openRead(bp, bfmt, true)) {
                            int n = (int) Math.max(0, Math.min(dst.remaining(), dev.size() - offset));
                            if (n > 0) {
                                ByteBuffer part = dst.duplicate();
                                part.limit(part.position() + n);
                                dev.read(offset, part);
                            }
                        }
                    });
                }
                t.truncate(old, newSize, prealloc, zeroWrite);
                bitmaps.resize(newSize);
            } finally {
                if (data != file) {
                    data.close();
                }
            }
        }

        /** Where the image's backing file is (a relative name is relative to the image's folder). */
        private static Path backingPath(Path path, Qcow2Metadata img) {
            String bf = img.backingFile();
            return Path.of(bf).isAbsolute() ? Path.of(bf) : path.resolveSibling(bf);
        }

        /** The backing file's length (QEMU opens the chain with the image), or null without one. */
        private static Long backingLength(Path path, Qcow2Metadata img) throws IOException {
            String bf = img.backingFile();
            if (bf == null) {
                return null;
            }
            Path bp = backingPath(path, img);
            if (!Files.exists(bp)) {
                throw new ImageException("Could not open backing file: Could not open '" + bf
                        + "': No such file or directory");
            }
            try (var dev = Devices.openRead(bp, img.backingFormat(), false)) {
                return dev.size();
            } catch (ImageException e) {
                throw new ImageException("Could not open backing file: " + e.getMessage(), e);
            }
        }

        @Override
        public void close() throws IOException {
            try {
                Qcow2Metadata now = Qcow2Metadata.loadForOpen(file, false, true).withUnknownExtensionsOf(opened);
                bitmaps.useExtensions(now.extensions());
                bitmaps.store(now.header());
                refcounts.flush();
                file.flush();
            } finally {
                try {
                    lock.close();
                } finally {
                    file.close();
                }
            }
        }
    }
}
