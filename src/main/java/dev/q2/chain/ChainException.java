package dev.q2.chain;

import dev.q2.image.ImageException;

/** A rebase or commit failed; the message is qemu-img's, without the "qemu-img: " prefix. */
public final class ChainException extends ImageException {
    private static final long serialVersionUID = 1L;

    public ChainException(String message) {
        super(message);
    }

    public ChainException(String message, Throwable cause) {
        super(message, cause);
    }

    private boolean headerStep;

    /** Marks a failure of the last step (the header change), which qemu-img reports before its final progress. */
    ChainException atHeaderStep() {
        headerStep = true;
        return this;
    }

    /** Whether the copy was done and only the header change failed (qemu-img still prints 100% progress then). */
    public boolean headerStep() {
        return headerStep;
    }
}
