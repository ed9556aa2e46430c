package dev.q2.check;

import dev.q2.Q2Exception;

/**
 * {@link ImageChecker} could not start checking an image: the file, its lock, its header or its backing chain could
 * not be opened, or the format has no check. The {@link #stage()} says which; the cause (when there is one) is the
 * failure itself, which the command line words as qemu-img does.
 */
public final class CheckOpenException extends Q2Exception {
    private static final long serialVersionUID = 1L;

    /** Where opening the image failed. */
    public enum Stage {
        /** The options cannot go together, or the format is not one q2 can check; the message says it all. */
        REQUEST,
        /** The format's driver has no check (qemu-img: "This image format does not support checks", exit 63). */
        NOT_CHECKABLE,
        /** The image file itself cannot be opened (the cause is null for an empty name or a folder). */
        FILE,
        /** Another process holds a lock on the image (the cause is the lock conflict). */
        LOCK,
        /** The image's header or tables cannot be loaded. */
        IMAGE,
        /** The backing chain cannot be opened. */
        BACKING
    }

    private final Stage stage;

    CheckOpenException(Stage stage, Category category, String message, Throwable cause) {
        super(category, message, cause);
        this.stage = stage;
    }

    /** Where opening the image failed. */
    public Stage stage() {
        return stage;
    }
}
