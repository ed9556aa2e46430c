package dev.q2.map;

import dev.q2.Q2Exception;

/** A map that cannot go on; the message is qemu-img's. */
public final class MapException extends Q2Exception {
    private static final long serialVersionUID = 1L;

    public MapException(String message) {
        super(Category.INVALID_IMAGE, message);
    }

    public MapException(String message, Throwable cause) {
        super(Category.INVALID_IMAGE, message, cause);
    }
}
