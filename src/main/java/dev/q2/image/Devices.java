package dev.q2.image;

import dev.q2.format.QcowHeader;
import dev.q2.io.ImageFile;
import dev.q2.io.QemuLock;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/** Opens a file as a {@link BlockDevice} by format: "qcow2", "raw", or null to probe as qemu-img does. */
public final class Devices {
    private Devices() {
    }

    /** qemu-img's probe among the formats q2 knows: "qcow2" when the file starts with the magic, else "raw". */
    public static String probe(ImageFile f) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8);
        f.readZeroFilled(0, b); // QEMU probes a zero-padded buffer: a short file is probed like any other
        // qcow2_probe: the magic and a version of at least 2 (unsigned). Version 0 is raw to QEMU too; version 1 is
        // QEMU's old qcow format, which q2 cannot read: it goes to the qcow2 driver, which refuses it ("Unsupported
        // qcow2 version 1") rather than showing its bytes as a raw disk.
        return b.getInt(0) == QcowHeader.MAGIC && b.getInt(4) != 0 ? "qcow2" : "raw";
    }

    public static String probe(Path path) throws IOException {
        try (ImageFile f = ImageFile.openReadOnly(path)) {
            return probe(f);
        }
    }

    /** Opens for reading, taking QEMU's shared read locks unless {@code forceShare}. */
    public static BlockDevice openRead(Path path, String format, boolean forceShare) throws IOException {
        String fmt = format != null ? format : probe(path);
        switch (fmt) {
            case "qcow2":
                return Qcow2Disk.open(path, DiskOptions.readOnly().withForceShare(forceShare));
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
                throw new ImageException("Unknown driver '" + fmt + "'");
        }
    }
}
