package dev.q2.image;

import dev.q2.Q2Exception;

/**
 * An image cannot be opened or used. The message is one line for the user, worded as qemu-img words the same
 * problem where it has one.
 */
public class ImageException extends Q2Exception {
    private static final long serialVersionUID = 1L;

    public ImageException(String message) {
        super(Category.INVALID_IMAGE, message);
    }

    public ImageException(String message, Throwable cause) {
        super(Category.INVALID_IMAGE, message, cause);
    }

    protected ImageException(Category category, String message) {
        super(category, message);
    }
}
