package dev.q2.format;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The full disk encryption header pointer extension: offset and length of the LUKS header in the image file. */
public record CryptoHeaderPointer(long offset, long length) {
    public static CryptoHeaderPointer decode(byte[] data) throws FormatException {
        if (data.length < 16) {
            throw new FormatException("full disk encryption header pointer: length " + data.length
                    + " is below the 16 bytes required");
        }
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.BIG_ENDIAN);
        return new CryptoHeaderPointer(b.getLong(), b.getLong());
    }
}
