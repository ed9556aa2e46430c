package dev.q2.check;

import dev.q2.Q2Exception.Category;
import dev.q2.check.CheckOpenException.Stage;
import dev.q2.create.CreatePlanner;
import dev.q2.format.Features;
import dev.q2.image.Devices;
import dev.q2.image.ImageException;
import dev.q2.image.PersistentBitmaps;
import dev.q2.image.Qcow2Metadata;
import dev.q2.io.ImageFile;
import dev.q2.io.QemuLock;
import dev.q2.block.BlockGraph;
import dev.q2.block.References;
import dev.q2.probe.FormatProber;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * qemu-img check as one library call: opens the image as qemu-img does (read-only for a check, read-write with
 * QEMU's locks for a repair, its backing chain too), checks it, and after a pass that repaired anything checks it
 * again read-only, as qemu-img does. Thread-safe: every call works on its own open file; two calls on the same
 * image conflict on its lock as two qemu-img processes would.
 *
 * <pre>{@code
 * CheckReport r = ImageChecker.check(Path.of("disk.qcow2"), CheckOptions.defaults().withMode(CheckMode.ALL));
 * if (!r.result().isClean()) { ... }
 * }</pre>
 */
public final class ImageChecker {
    /** Formats whose QEMU driver has no check: qemu-img refuses them (after opening them). */
    private static final Set<String> NO_CHECK = Set.of("vpc", "qcow", "dmg", "cloop", "bochs");

    private ImageChecker() {
    }

    /** {@link #check(Path, CheckOptions, CheckListener)} without a listener. */
    public static CheckReport check(Path image, CheckOptions options) throws IOException {
        return check(image, options, CheckListener.NONE);
    }

    /**
     * Checks (and with a repairing mode, repairs) the image at {@code image} (relative: against the options'
     * working directory, if any), reporting messages, phases and repairs to {@code listener} as they happen.
     *
     * @return the counts; a check that completed returns even when it found problems
     * @throws CheckOpenException   the image could not be opened for the check, or its format has no check
     * @throws CheckFailedException the check could not be completed (qemu-img: "Check failed")
     * @throws IOException          reading or writing the image failed
     */
    public static CheckReport check(Path image, CheckOptions options, CheckListener listener) throws IOException {
        if (options.workingDirectory() != null) {
            image = options.workingDirectory().resolve(image);
        }
        CheckMode mode = options.mode();
        String name = options.displayName() != null ? options.displayName() : image.toString();
        if (mode.repairs() && options.forceShare()) {
            throw new CheckOpenException(Stage.REQUEST, Category.INVALID_ARGUMENT, "Could not open '" + name
                    + "': force-share=on can only be used with read-only images", null);
        }
        if (name.isEmpty() || Files.isDirectory(image)) { // the file protocol's refusals
            throw new CheckOpenException(Stage.FILE, Category.INVALID_ARGUMENT, "Could not open '" + name + "'", null);
        }
        ImageFile f;
        try {
            f = mode.repairs() ? ImageFile.openReadWrite(image) : ImageFile.openReadOnly(image);
        } catch (IOException e) {
            throw new CheckOpenException(Stage.FILE, Category.IO_ERROR, "Could not open '" + name + "': "
                    + e.getMessage(), e);
        }
        QemuLock lock;
        try {
            lock = lock(f, image, mode, options.forceShare());
        } catch (QemuLock.LockConflictException e) {
            f.close();
            throw new CheckOpenException(Stage.LOCK, Category.LOCKED, "Could not open '" + name + "': "
                    + e.qemuLines(name), e);
        } catch (IOException | RuntimeException e) {
            f.close();
            throw e;
        }
        try (f; lock) {
            String format = options.format() != null ? options.format() : Devices.probe(f);
            Qcow2Metadata img = open(f, format, name, options);
            return checkAndRecheck(format, img, mode, listener,
                    options.keys() != null && options.keys().keySecretId() != null);
        }
    }

    /**
     * Checks a qcow2 image in a file that is already open (writable for a repairing mode) and that the caller has
     * locked as it needs: no probing, no backing chain; otherwise as {@link #check(Path, CheckOptions,
     * CheckListener)}, the repair-then-recheck included.
     *
     * @throws CheckFailedException the check could not be completed (qemu-img: "Check failed")
     * @throws IOException          the image cannot be loaded, or reading or writing it failed
     */
    public static CheckReport check(ImageFile file, CheckMode mode, CheckListener listener) throws IOException {
        Qcow2Metadata image = Qcow2Metadata.loadForCheck(file);
        if (mode.repairs() && PersistentBitmaps.updateHeaderForRepair(file, image)) {
            image = Qcow2Metadata.loadForCheck(file); // as qemu-img's read-write open rewrote the header
        }
        return checkAndRecheck("qcow2", image, mode, listener, false);
    }

    /**
     * Checks, read-only, metadata the caller has already loaded (for example with only what the file itself holds,
     * as {@code q2 inspect} does): one pass, no repair, no backing chain.
     *
     * @throws CheckFailedException the check could not be completed (qemu-img: "Check failed")
     * @throws IOException          reading the image failed
     */
    public static CheckReport checkReadOnly(Qcow2Metadata image, CheckListener listener) throws IOException {
        return new CheckReport("qcow2", CheckPass.run(image, CheckMode.NONE, new CheckSession(), listener), null);
    }

    /** qemu-img check's loop: one pass, and after a pass that repaired anything, a read-only re-check. */
    private static CheckReport checkAndRecheck(String format, Qcow2Metadata image, CheckMode mode,
                                               CheckListener listener, boolean keyed) throws IOException {
        CheckSession session = new CheckSession();
        CheckResult result = CheckPass.run(image, mode, session, listener);
        if (!result.repairedAnything()) {
            return new CheckReport(format, result, null);
        }
        listener.repaired(result);
        Qcow2Metadata again = keyed ? Qcow2Metadata.loadForCheckWithKey(image.file())
                : Qcow2Metadata.loadForCheck(image.file());
        CheckResult recheck = CheckPass.run(again, CheckMode.NONE, session,
                listener);
        return new CheckReport(format, recheck.withRepairsOf(result), result);
    }

    /** The open qemu-img check does before checking: the format's driver, the header, the data file, the chain. */
    private static Qcow2Metadata open(ImageFile f, String format, String name, CheckOptions options) throws IOException {
        if (NO_CHECK.contains(format)) {
            try {
                FormatProber.readHeader(f, format); // qemu-img opens the image before it asks
            } catch (ImageException e) {
                throw new CheckOpenException(Stage.REQUEST, Category.INVALID_IMAGE, "Could not open '" + name
                        + "': " + e.getMessage(), e);
            }
        }
        if (format.equals("raw") || NO_CHECK.contains(format)) {
            throw new CheckOpenException(Stage.NOT_CHECKABLE, Category.UNSUPPORTED,
                    "This image format does not support checks", null);
        }
        if (FormatProber.FOREIGN.contains(format)) {
            throw new CheckOpenException(Stage.REQUEST, Category.UNSUPPORTED, FormatProber.cannotRead(format), null);
        }
        if (!format.equals("qcow2")) {
            throw new CheckOpenException(Stage.REQUEST, Category.INVALID_ARGUMENT, "Could not open '" + name
                    + "': Unknown driver '" + format + "'", null);
        }
        Qcow2Metadata image;
        // with encrypt.key-secret, an encrypted image opens as qemu-img check opens it: its key unlocked (a missing
        // secret, a wrong password refused), though the check reads no guest data
        boolean keyed = options.keys() != null && options.keys().keySecretId() != null;
        try {
            image = keyed ? Qcow2Metadata.loadForCheckWithKey(f) : Qcow2Metadata.loadForCheck(f);
            if (keyed) {
                dev.q2.image.EncryptionKeys.unlock(f, image, options.keys());
            }
            if (options.mode().repairs() && PersistentBitmaps.updateHeaderForRepair(f, image)) {
                // as qemu-img's read-write open rewrote the header
                image = keyed ? Qcow2Metadata.loadForCheckWithKey(f) : Qcow2Metadata.loadForCheck(f);
            }
        } catch (RuntimeException | IOException e) {
            throw new CheckOpenException(Stage.IMAGE, Category.INVALID_IMAGE, "Could not open '" + name + "': "
                    + e.getMessage(), e);
        }
        if (image.header().hasFeature(Features.INCOMPAT_DATA_FILE) && "".equals(image.dataFile())
                && options.references().dataFile()) {
            // QEMU opens the data file with the image; an empty name (a C string starting with NUL) fails there
            throw new CheckOpenException(Stage.REQUEST, Category.INVALID_IMAGE, "Could not open '" + name
                    + "': The 'file' block driver requires a file name", null);
        }
        String backing = image.backingFile();
        if (backing != null && !backing.isEmpty() && options.references().backing()) {
            // qemu-img check opens the backing chain with the image, and fails when it cannot (an encrypted
            // backing file without its secret, a missing one); the check itself never reads it.
            Path workDir = options.workingDirectory() != null ? options.workingDirectory()
                    : Path.of("").toAbsolutePath();
            try {
                // file: and json: names as QEMU reads them, within q2's rule for names an image holds
                dev.q2.block.ImageName stored = dev.q2.block.ImageName.stored(CreatePlanner.combinedName(name,
                        backing));
                try (BlockGraph chain = BlockGraph.openWithKeys(workDir, stored.filename(), stored.format() != null
                        ? stored.format() : image.backingFormat(), options.forceShare(), false, References.ALL,
                        options.keys() != null ? options.keys().backing() : null)) {
                    chain.length();
                }
            } catch (RuntimeException | IOException e) {
                throw new CheckOpenException(Stage.BACKING, Category.IO_ERROR, "Could not open '" + name
                        + "': Could not open backing file: " + e.getMessage(), e);
            }
        }
        return image;
    }

    /** QEMU's permissions: a repair writes and resizes, sharing reads; a check reads, sharing all but writes. */
    private static QemuLock lock(ImageFile f, Path path, CheckMode mode, boolean forceShare) throws IOException {
        if (forceShare) {
            return null;
        }
        if (mode.repairs()) {
            return QemuLock.acquire(f.channel(), path, QemuLock.PERM_CONSISTENT_READ | QemuLock.PERM_WRITE
                    | QemuLock.PERM_RESIZE, QemuLock.PERM_CONSISTENT_READ | QemuLock.PERM_WRITE_UNCHANGED);
        }
        return QemuLock.acquire(f.channel(), path, 0,
                QemuLock.PERM_ALL & ~(QemuLock.PERM_WRITE | QemuLock.PERM_RESIZE));
    }
}
