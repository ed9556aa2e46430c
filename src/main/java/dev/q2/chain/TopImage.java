package dev.q2.chain;

import dev.q2.block.OpenErrors;
import dev.q2.image.Devices;
import dev.q2.image.DiskOptions;
import dev.q2.image.Qcow2Disk;
import dev.q2.io.ImageFile;
import dev.q2.io.QemuLock;
import dev.q2.probe.FormatProber;

import java.io.Closeable;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;

/**
 * The image a rebase or commit works on, opened for writing as qemu-img's img_open opens it: a qcow2 image through
 * the engine, or a raw file (which has no backing file to change or commit).
 */
final class TopImage implements Closeable {
    final String filename;
    final Path path;
    /** The engine's disk, or null for a raw image. */
    final Qcow2Disk disk;
    private final ImageFile raw;
    private final QemuLock rawLock;

    private TopImage(String filename, Path path, Qcow2Disk disk, ImageFile raw, QemuLock rawLock) {
        this.filename = filename;
        this.path = path;
        this.disk = disk;
        this.raw = raw;
        this.rawLock = rawLock;
    }

    /**
     * Opens {@code filename} (relative to {@code workDir}) for writing in {@code format} (null: probed, and a
     * probed raw image gets QEMU's warning on {@code diagnostics}).
     *
     * @throws ChainException "Could not open 'filename': reason"
     */
    static TopImage open(Path workDir, String filename, String format, DiskOptions opt, PrintWriter diagnostics)
            throws ChainException {
        Path path = workDir.resolve(filename);
        try {
            String fmt = format;
            if (fmt == null) {
                fmt = Devices.probe(path);
                if (fmt.equals("raw")) {
                    diagnostics.println("WARNING: Image format was not specified for '" + filename
                            + "' and probing guessed raw.");
                    diagnostics.println("         Automatically detecting the format is dangerous for raw images,"
                            + " write operations on block 0 will be restricted.");
                    diagnostics.println("         Specify the 'raw' format explicitly to remove the restrictions.");
                    diagnostics.flush();
                }
            }
            if (fmt.equals("qcow2")) {
                try {
                    return new TopImage(filename, path, Qcow2Disk.open(path, opt.withWorkDir(workDir), diagnostics),
                            null, null);
                } catch (IOException e) {
                    if (opt.openBacking()) {
                        backingFailure(workDir, filename, e);
                    }
                    throw e;
                }
            }
            if (fmt.equals("raw")) {
                ImageFile f = ImageFile.openReadWrite(path);
                try {
                    QemuLock lock = QemuLock.acquire(f.channel(), path, QemuLock.PERM_CONSISTENT_READ
                            | QemuLock.PERM_WRITE | QemuLock.PERM_RESIZE, QemuLock.PERM_ALL);
                    return new TopImage(filename, path, null, f, lock);
                } catch (IOException | RuntimeException e) {
                    f.close();
                    throw e;
                }
            }
            throw new ChainException("Could not open '" + filename + "': " + (FormatProber.FOREIGN.contains(fmt)
                    ? FormatProber.cannotRead(fmt) : "Unknown driver '" + fmt + "'"));
        } catch (ChainException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new ChainException(OpenErrors.imageOpenFailure(filename, path, e), e);
        }
    }

    /**
     * When the image opens but its backing chain does not, the block graph's words for it (QEMU's: "Could not open
     * backing file: Could not open 'name': reason").
     */
    private static void backingFailure(Path workDir, String filename, IOException e) throws ChainException {
        try (dev.q2.block.BlockGraph g = dev.q2.block.BlockGraph.open(workDir, filename, "qcow2", true)) {
            return; // the chain opens: the failure was something else
        } catch (dev.q2.image.ImageException g) {
            if (g.getMessage() != null && g.getMessage().startsWith("Could not open backing file")) {
                throw new ChainException(OpenErrors.couldNotOpen(filename, g), e);
            }
        } catch (IOException | RuntimeException other) {
            // not the chain's failure
        }
    }

    boolean isRaw() {
        return disk == null;
    }

    /** Guest size as the block layer counts it (whole sectors). */
    long length() throws IOException {
        return disk != null ? disk.size() : Formats.sectors(raw.size());
    }

    @Override
    public void close() throws IOException {
        if (disk != null) {
            disk.close();
        } else {
            try {
                rawLock.close();
            } finally {
                raw.close();
            }
        }
    }
}
