package dev.q2.format;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The bitmaps header extension: where the bitmap directory is and how many bitmaps it holds. */
public record BitmapsExtension(int nbBitmaps, long bitmapDirectorySize, long bitmapDirectoryOffset) {
    public static final int LENGTH = 24;

    public static BitmapsExtension decode(byte[] data) {
        if (data.length < LENGTH) {
            throw new FormatException("bitmaps extension: length " + data.length + " is below the 24 bytes required");
        }
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.BIG_ENDIAN);
        int nb = b.getInt();
        b.getInt(); // reserved
        return new BitmapsExtension(nb, b.getLong(), b.getLong());
    }

    public byte[] encode() {
        return ByteBuffer.allocate(LENGTH).order(ByteOrder.BIG_ENDIAN).putInt(nbBitmaps).putInt(0)
                .putLong(bitmapDirectorySize).putLong(bitmapDirectoryOffset).array();
    }
}
