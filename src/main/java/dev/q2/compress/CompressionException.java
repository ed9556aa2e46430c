package dev.q2.compress;

import dev.q2.Q2Exception;

/** Compressed cluster data that cannot be decompressed. */
public class CompressionException extends Q2Exception {
    private static final long serialVersionUID = 1L;

    public CompressionException(String message) {
        super(Category.IO_ERROR, message);
    }
}
