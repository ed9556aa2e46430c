package dev.q2.measure;

/** A measure request that qemu-img measure refuses; the message is qemu-img's (without the program name). */
public final class MeasureException extends Exception {
    public MeasureException(String message) {
        super(message);
    }
}
