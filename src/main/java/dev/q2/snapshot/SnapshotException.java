package dev.q2.snapshot;

import dev.q2.Q2Exception;

/**
 * A snapshot operation failed. Like QEMU's snapshot functions it carries an errno ({@link #errno()}, positive:
 * qemu-img prints "-22 (Invalid argument)" for a failed create) and a message in QEMU's words for the others ("Failed
 * to load snapshot: No such file or directory"); {@link #preface()} is a line QEMU prints on its own before the
 * command's error (or null).
 */
public final class SnapshotException extends Q2Exception {
    private static final long serialVersionUID = 1L;

    /** The errno values snapshot operations fail with, with glibc's strerror text. */
    public enum Errno {
        ENOENT(2, "No such file or directory"),
        EIO(5, "Input/output error"),
        EAGAIN(11, "Resource temporarily unavailable"),
        EINVAL(22, "Invalid argument"),
        EFBIG(27, "File too large"),
        EBUSY(16, "Device or resource busy"),
        ENOTSUP(95, "Operation not supported");

        public final int code;
        public final String text;

        Errno(int code, String text) {
            this.code = code;
            this.text = text;
        }
    }

    private final Errno errno;
    private final String preface;

    public SnapshotException(Errno errno, String message) {
        this(errno, message, null);
    }

    public SnapshotException(Errno errno, String message, String preface) {
        super(errno == Errno.ENOTSUP ? Category.UNSUPPORTED : errno == Errno.EIO ? Category.CORRUPT
                : Category.INVALID_ARGUMENT, message);
        this.errno = errno;
        this.preface = preface;
    }

    /** The errno QEMU's function returns for this failure. */
    public Errno errno() {
        return errno;
    }

    /** A line QEMU prints before the command's own error message, or null. */
    public String preface() {
        return preface;
    }
}
