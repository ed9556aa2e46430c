package dev.q2.compress;

/** Compressed cluster data that cannot be decompressed. */
public class CompressionException extends RuntimeException {
    public CompressionException(String message) {
        super(message);
    }
}
