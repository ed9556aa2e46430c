package dev.q2.image;

import dev.q2.format.ChildNames;
import dev.q2.format.Features;
import dev.q2.format.QcowHeader;
import dev.q2.io.ImageFile;
import dev.q2.io.QemuLock;
import dev.q2.probe.FormatProber;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Set;

/**
 * Seam: open (qcow2.c's qcow2_open/qcow2_do_open and the block layer's bdrv_open_backing_file): QEMU's locks, the
 * checks a read-write open makes (corrupt, dirty with its repair), the external data file and the backing chain,
 * opened read-only below the image.
 */
final class DiskOpener {
    private DiskOpener() {
    }

    private static Qcow2Disk open(Path path, DiskOptions opt, Set<Path> chain) throws IOException {
        return open(path, opt, chain, new PrintWriter(System.err, true)); // backing files open read-only
    }

    /**
     * Opens an image with its backing chain; {@code chain} holds the images already open below the first (a loop
     * is refused as QEMU refuses it).
     */
    static Qcow2Disk open(Path path, DiskOptions opt, Set<Path> chain, PrintWriter diagnostics)
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
            boolean key = opt.keys() != null && opt.keys().keySecretId() != null;
            Qcow2Metadata img = Qcow2Metadata.loadForOpen(f, key, opt.dataFile() != null);
            dev.q2.crypto.BlockCrypto crypto = key ? EncryptionKeys.unlock(f, img, opt.keys()) : null;
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
                Qcow2Metadata opened = img;
                repair.repairDirty(f, diagnostics);
                img = Qcow2Metadata.loadForOpen(f, key, opt.dataFile() != null).withUnknownExtensionsOf(opened);
                h = img.header();
            }
            if (h.hasFeature(Features.INCOMPAT_DATA_FILE)) {
                // the user's data-file.filename, else the name the image holds (one of them: Qcow2Metadata.load)
                String name = opt.dataFile() != null ? opt.dataFile() : img.dataFile();
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
                dev.q2.block.ImageName stored;
                try {
                    // file: and json: names as QEMU reads them, within q2's rule for names an image holds
                    stored = dev.q2.block.ImageName.stored(ChildNames.backing(path.toString(), bf));
                } catch (ImageException e) {
                    throw new ImageException("Could not open backing file: " + e.getMessage(), e);
                }
                Path bp = opt.workFolder().resolve(stored.filename());
                String bfmt = opt.backingFormat() != null ? opt.backingFormat()
                        : stored.format() != null ? stored.format() : img.backingFormat();
                backing = openBacking(bp, bfmt, opt, chain);
            }
            Qcow2Disk disk = new Qcow2Disk(path, f, data, lock, img, opt, backing);
            if (crypto != null) {
                disk.useCrypto(crypto);
            }
            if (opt.writable()) {
                // QEMU's read-write open: autoclear bits cleared, bitmaps loaded and marked in use before any write
                disk.loadBitmaps(img);
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

    /** Opens an image held in a storage: no locks, no backing chain, no external data file (see Qcow2Disk). */
    static Qcow2Disk open(dev.q2.io.Storage storage, DiskOptions opt, PrintWriter diagnostics) throws IOException {
        if (opt.writable() && !storage.writable()) {
            throw new ImageException(dev.q2.Q2Exception.Category.INVALID_ARGUMENT,
                    "Cannot open a read-only storage for writing");
        }
        ImageFile f = new ImageFile(storage);
        try {
            Qcow2Metadata img = Qcow2Metadata.load(f);
            QcowHeader h = img.header();
            if (opt.writable() && h.hasFeature(Features.INCOMPAT_CORRUPT)) {
                throw new ImageException("qcow2: Image is corrupt; cannot be opened read/write");
            }
            if (h.hasFeature(Features.INCOMPAT_DATA_FILE)) {
                throw new ImageException(dev.q2.Q2Exception.Category.UNSUPPORTED,
                        "An image with an external data file must be opened from its path");
            }
            String bf = img.backingFile();
            if (opt.openBacking() && bf != null && !bf.isEmpty()) {
                throw new ImageException(dev.q2.Q2Exception.Category.UNSUPPORTED, "The image has a backing file ('"
                        + bf + "'): open it from its path, or without its backing chain");
            }
            if (opt.writable() && h.hasFeature(Features.INCOMPAT_DIRTY)) {
                OpenRepair repair = OpenRepair.find();
                if (repair == null) {
                    throw new ImageException("Image is dirty; repair it first with 'q2 check -r all'");
                }
                Qcow2Metadata opened = img;
                repair.repairDirty(f, diagnostics);
                img = Qcow2Metadata.load(f).withUnknownExtensionsOf(opened);
            }
            Qcow2Disk disk = new Qcow2Disk(null, f, f, null, img, opt, null);
            if (opt.writable()) {
                disk.loadBitmaps(img);
            }
            return disk;
        } catch (IOException | RuntimeException e) {
            f.close();
            throw e;
        }
    }

    private static BlockDevice openBacking(Path bp, String fmt, DiskOptions opt, Set<Path> chain)
            throws IOException {
        DiskOptions ro = new DiskOptions(false, opt.forceShare(), 0, opt.l2CacheMax(), 0, true, true,
                opt.workDir(), null, null, opt.keys() != null ? opt.keys().backing() : null);
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
                + (FormatProber.FOREIGN.contains(format) ? FormatProber.cannotRead(format)
                : "Unknown driver '" + format + "'"));
    }

    static void closeQuietly(BlockDevice d) {
        if (d != null) {
            try {
                d.close();
            } catch (IOException e) {
                // already failing; the first error is the one to report
            }
        }
    }
}
