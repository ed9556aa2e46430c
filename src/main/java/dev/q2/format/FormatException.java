package dev.q2.format;

import dev.q2.Q2Exception;

/**
 * The on-disk data breaks a rule of the qcow2 specification. The message names the field and the rule, so that a
 * user reading it can find the problem in the spec (docs/interop/qcow2.txt).
 */
public class FormatException extends Q2Exception {
    private static final long serialVersionUID = 1L;

    public FormatException(String message) {
        super(Category.INVALID_IMAGE, message);
    }
}
