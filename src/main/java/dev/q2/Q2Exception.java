package dev.q2;

import java.io.IOException;

/**
 * The root of every error q2's library reports about an image or a request: a bad or damaged image, an option qemu-img
 * would refuse, a lock held by another process. It is an {@link IOException}, so code that already handles I/O errors
 * handles q2's; plain {@code IOException}s that are not {@code Q2Exception}s come from the operating system.
 *
 * <p>The message is one line for a person, worded as qemu-img 7.2 words the same problem where it has one. The
 * {@link #category()} says what kind of failure it is, which the command line maps to qemu-img's exit codes.
 */
public class Q2Exception extends IOException {
    private static final long serialVersionUID = 1L;

    /** What kind of failure an exception reports; stable, for programs that react to it. */
    public enum Category {
        /** The image breaks a rule of the qcow2 specification or a limit QEMU enforces. */
        INVALID_IMAGE,
        /** Metadata QEMU treats as corrupt when an access reaches it; the request failed with EIO. */
        CORRUPT,
        /** A well-formed request q2 or qemu-img does not support on this image (a feature, a format, an option). */
        UNSUPPORTED,
        /** A request or option that is invalid in itself (a bad size, a bad option value). */
        INVALID_ARGUMENT,
        /** Another process holds a lock that conflicts with the requested access. */
        LOCKED,
        /** Reading or writing the underlying storage failed, or data could not be decoded. */
        IO_ERROR
    }

    /** What kind of failure this is. */
    private final Category category;

    /**
     * An error of a category, with its one-line message.
     *
     * @param category what kind of failure
     * @param message the message, worded as qemu-img words it where it has one
     */
    public Q2Exception(Category category, String message) {
        super(message);
        this.category = category;
    }

    /**
     * An error of a category, with its one-line message and the exception that caused it.
     *
     * @param category what kind of failure
     * @param message the message
     * @param cause the cause
     */
    public Q2Exception(Category category, String message, Throwable cause) {
        super(message, cause);
        this.category = category;
    }

    /**
     * What kind of failure this is.
     *
     * @return the category
     */
    public Category category() {
        return category;
    }
}
