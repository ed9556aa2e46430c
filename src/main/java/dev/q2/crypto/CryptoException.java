package dev.q2.crypto;

import java.io.IOException;

/** A secret or a key that cannot be used, with QEMU's message where it has one. */
public final class CryptoException extends IOException {
    private static final long serialVersionUID = 1L;

    public CryptoException(String message) {
        super(message);
    }

    public CryptoException(String message, Throwable cause) {
        super(message, cause);
    }
}
