package dev.q2.map;

import dev.q2.image.ImageException;

/**
 * Metadata QEMU would mark the image corrupt for (an unaligned L2 table or cluster offset, an invalid subcluster
 * bitmap...): the block-status query fails with EIO there. The message is what QEMU's qcow2 driver says after
 * "Image is corrupt: ".
 */
public final class CorruptMetadataException extends ImageException {
    CorruptMetadataException(String message) {
        super(message);
    }
}
