package dev.q2.convert;

import java.io.IOException;

/** A conversion that cannot go on, with qemu-img convert's message for it. */
public final class ConvertException extends IOException {
    public ConvertException(String message) {
        super(message);
    }

    public ConvertException(String message, Throwable cause) {
        super(message, cause);
    }
}
