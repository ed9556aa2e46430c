package dev.q2.create;

/** A create request qemu-img would refuse; the message is qemu-img's reason, one line. */
public class CreateException extends Exception {
    /** Whether qemu-img prints its "Formatting ..." line before it reports this error. */
    private final boolean afterFormatting;

    public CreateException(String message, boolean afterFormatting) {
        super(message);
        this.afterFormatting = afterFormatting;
    }

    public boolean afterFormatting() {
        return afterFormatting;
    }
}
