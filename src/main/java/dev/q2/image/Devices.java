package dev.q2.image;

import dev.q2.io.ImageFile;
import dev.q2.io.QemuLock;
import dev.q2.probe.FormatProber;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Opens a file as a {@link BlockDevice} by format: "qcow2", "raw", or null to probe as qemu-img does. Other formats
 * qemu-img knows are refused by name ("q2 cannot read vmdk images yet"), never read as raw.
 */
public final class Devices {
    private Devices() {
    }

    /**
     * qemu-img's probe: "qcow2", "raw", or the name of another format qemu-img 7.2 recognises (see
     * {@link FormatProber}), which q2 reports but does not process.
     *
     * @param f the open file
     * @return the format's name
     * @throws IOException when the file cannot be read
     */
    public static String probe(ImageFile f) throws IOException {
        return FormatProber.probe(f);
    }

    /**
     * As {@link #probe(ImageFile)}, on a file opened for the purpose.
     *
     * @param path the file
     * @return the format's name
     * @throws IOException when the file cannot be read
     */
    public static String probe(Path path) throws IOException {
        try (ImageFile f = ImageFile.openReadOnly(path)) {
            return probe(f);
        }
    }

    /**
     * Opens for reading, taking QEMU's shared read locks unless {@code forceShare}; a data file named relatively is
     * found in the process's working folder.
     *
     * @param path the image
     * @param format "qcow2", "raw", or null to probe
     * @param forceShare take and check no locks
     * @return the opened device
     * @throws IOException when it cannot be opened
     */
    public static BlockDevice openRead(Path path, String format, boolean forceShare) throws IOException {
        return openRead(path, format, forceShare, null);
    }

    /**
     * Opens for reading, taking QEMU's shared read locks unless {@code forceShare}; a data file named relatively is
     * found in {@code workDir} (null: the process's working folder).
     *
     * @param path the image
     * @param format "qcow2", "raw", or null to probe
     * @param forceShare take and check no locks
     * @param workDir the working folder, or null
     * @return the opened device
     * @throws IOException when it cannot be opened
     */
    public static BlockDevice openRead(Path path, String format, boolean forceShare, Path workDir)
            throws IOException {
        return openRead(path, format, forceShare, workDir, null);
    }

    /**
     * As {@link #openRead(Path, String, boolean, Path)}, with the key secrets of an encrypted image and its backing
     * chain (null: none).
     *
     * @param path the image
     * @param format "qcow2", "raw", or null to probe
     * @param forceShare take and check no locks
     * @param workDir the working folder, or null
     * @param keys the key secrets, or null
     * @return the opened device
     * @throws IOException when it cannot be opened
     */
    public static BlockDevice openRead(Path path, String format, boolean forceShare, Path workDir,
                                       dev.q2.crypto.ImageKeys keys) throws IOException {
        String fmt = format != null ? format : probe(path);
        switch (fmt) {
            case "qcow2":
                return Qcow2Disk.open(path, DiskOptions.readOnly().withForceShare(forceShare).withWorkDir(workDir)
                        .withKeys(keys));
            case "raw":
                ImageFile f = ImageFile.openReadOnly(path);
                if (!forceShare) {
                    try {
                        QemuLock.acquire(f.channel(), path, QemuLock.PERM_CONSISTENT_READ,
                                QemuLock.PERM_ALL & ~(QemuLock.PERM_WRITE | QemuLock.PERM_RESIZE));
                    } catch (IOException | RuntimeException e) {
                        f.close();
                        throw e;
                    }
                }
                return new RawDevice(f);
            default:
                throw new ImageException(FormatProber.FOREIGN.contains(fmt) ? FormatProber.cannotRead(fmt)
                        : "Unknown driver '" + fmt + "'");
        }
    }
}
