package dev.q2.bitmap;

import dev.q2.Q2Exception;

/**
 * An operation of qemu-img bitmap that failed, with QEMU's reason (and the hint QEMU adds on a second line, or
 * null); the operations before it took effect, as in qemu-img.
 */
public final class BitmapOperationException extends Q2Exception {
    private final BitmapAction.Kind kind;
    private final String bitmap;
    private final String reason;
    private final String hint;

    public BitmapOperationException(BitmapAction.Kind kind, String bitmap, String reason, String hint) {
        super(Category.INVALID_ARGUMENT, "Operation " + kind.word() + " on bitmap " + bitmap + " failed: " + reason);
        this.kind = kind;
        this.bitmap = bitmap;
        this.reason = reason;
        this.hint = hint;
    }

    public BitmapAction.Kind kind() {
        return kind;
    }

    public String bitmap() {
        return bitmap;
    }

    /** QEMU's reason, without the "Operation ... failed: " prefix. */
    public String reason() {
        return reason;
    }

    /** The hint QEMU prints on the next line, or null. */
    public String hint() {
        return hint;
    }
}
