package dev.q2.check;

import dev.q2.Q2Exception;

/**
 * The check could not be completed (qemu-img: "Check failed: REASON", exit code 1). The {@link #reason()} is worded
 * as strerror() words the errno QEMU returns, e.g. "Input/output error" or "File too large".
 */
public final class CheckFailedException extends Q2Exception {
    private static final long serialVersionUID = 1L;
    private final String reason;

    /** A failure for {@code reason} (strerror's words). */
    public CheckFailedException(String reason) {
        super(Category.IO_ERROR, "Check failed: " + reason);
        this.reason = reason;
    }

    /** Why the check failed, as strerror() words QEMU's errno. */
    public String reason() {
        return reason;
    }
}
