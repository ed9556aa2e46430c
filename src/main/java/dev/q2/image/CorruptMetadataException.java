package dev.q2.image;

/**
 * Metadata QEMU finds corrupt when an access reaches it (an unaligned L2 table, data cluster or refcount block
 * offset, an invalid subcluster bitmap...): the request fails with EIO there. The message is what QEMU's qcow2
 * driver says after "Image is corrupt: " (see {@link dev.q2.format.L2Corruption}).
 *
 * <p>On an image open for writing QEMU also marks the image corrupt (the header's corrupt bit) and makes it unusable
 * for the rest of the session: {@link #fatal()}. It reports one corruption event per image and session:
 * {@link #firstReport()} is false for the later ones.
 */
public final class CorruptMetadataException extends ImageException {
    private final boolean fatal;
    private final boolean firstReport;

    public CorruptMetadataException(String message) {
        this(message, false, true);
    }

    public CorruptMetadataException(String message, boolean fatal, boolean firstReport) {
        super(Category.CORRUPT, message);
        this.fatal = fatal;
        this.firstReport = firstReport;
    }

    /** The image was open for writing and has been marked corrupt. */
    public boolean fatal() {
        return fatal;
    }

    /** Whether QEMU prints {@link #qemuReport()} for this event (it suppresses the ones after the first). */
    public boolean firstReport() {
        return firstReport;
    }

    /** The line QEMU's qcow2 driver prints on its own when it finds the image corrupt, before the command's error. */
    public String qemuReport() {
        return fatal ? "qcow2: Marking image as corrupt: " + getMessage() + "; further corruption events will be"
                + " suppressed"
                : "qcow2: Image is corrupt: " + getMessage() + "; further non-fatal corruption events will be suppressed";
    }
}
