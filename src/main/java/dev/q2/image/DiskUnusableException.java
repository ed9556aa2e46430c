package dev.q2.image;

/**
 * The disk refuses all I/O since it marked its image corrupt (QEMU then drops the image's driver, and every request
 * fails with ENOMEDIUM, whose words are the message).
 */
public final class DiskUnusableException extends ImageException {
    public DiskUnusableException() {
        super("No medium found");
    }
}
