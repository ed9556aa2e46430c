package dev.q2.map;

import dev.q2.image.ImageException;

/**
 * Metadata QEMU would mark the image corrupt for (an unaligned L2 table or cluster offset, an invalid subcluster
 * bitmap...): the block-status query fails with EIO there. The message is what QEMU's qcow2 driver says after
 * "Image is corrupt: ".
 */
public final class CorruptMetadataException extends ImageException {
    /**
     * The line QEMU's qcow2 driver prints on its own when it finds an image opened read-only corrupt (it cannot mark
     * it), before the command's error.
     */
    public String qemuReport() {
        return "qcow2: Image is corrupt: " + getMessage() + "; further non-fatal corruption events will be suppressed";
    }

    CorruptMetadataException(String message) {
        super(message);
    }
}
