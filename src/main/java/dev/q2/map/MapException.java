package dev.q2.map;

/** A map that cannot go on; the message is qemu-img's. */
public final class MapException extends RuntimeException {
    public MapException(String message) {
        super(message);
    }

    public MapException(String message, Throwable cause) {
        super(message, cause);
    }
}
