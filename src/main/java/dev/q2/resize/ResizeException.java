package dev.q2.resize;

import dev.q2.Q2Exception;

/** A resize qemu-img refuses or that failed; the message is qemu-img's, without its "qemu-img: " prefix. */
public class ResizeException extends Q2Exception {
    private static final long serialVersionUID = 1L;

    public ResizeException(Category category, String message) {
        super(category, message);
    }
}
