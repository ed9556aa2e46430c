package dev.q2.check;

/**
 * The check could not be completed (qemu-img: "Check failed: REASON", exit code 1). The reason is worded as
 * strerror() words the errno QEMU returns, e.g. "Input/output error" or "File too large".
 */
public final class CheckFailedException extends Exception {
    public CheckFailedException(String reason) {
        super(reason);
    }
}
