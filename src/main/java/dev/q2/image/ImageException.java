package dev.q2.image;

/**
 * An image cannot be opened or used. The message is one line for the user, worded as qemu-img words the same
 * problem where it has one.
 */
public class ImageException extends RuntimeException {
    public ImageException(String message) {
        super(message);
    }

    public ImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
