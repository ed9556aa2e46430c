package dev.q2.format;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The bitmaps header extension: where the bitmap directory is and how many bitmaps it holds. */
public record BitmapsExtension(int nbBitmaps, long bitmapDirectorySize, long bitmapDirectoryOffset) {
    public static final int LENGTH = 24;

    public static BitmapsExtension decode(byte[] data) throws FormatException {
        if (data.length < LENGTH) {
            throw new FormatException("bitmaps extension: length " + data.length + " is below the 24 bytes required");
        }
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.BIG_ENDIAN);
        int nb = b.getInt();
        b.getInt(); // reserved
        return new BitmapsExtension(nb, b.getLong(), b.getLong());
    }

    /**
     * Decodes the extension as QEMU's qcow2_read_extensions does when the bitmaps autoclear bit is set, with its
     * checks and messages in its order.
     *
     * @throws FormatException with QEMU's message
     */
    public static BitmapsExtension decodeChecked(byte[] data, long clusterSize, int maxBitmaps, long maxDirectorySize)
            throws FormatException {
        if (data.length != LENGTH) {
            throw new FormatException("bitmaps_ext: Invalid extension length");
        }
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.BIG_ENDIAN);
        if (b.getInt(4) != 0) {
            throw new FormatException("bitmaps_ext: Reserved field is not zero");
        }
        BitmapsExtension e = decode(data);
        long nb = Integer.toUnsignedLong(e.nbBitmaps());
        if (nb > maxBitmaps) {
            throw new FormatException("bitmaps_ext: Image has " + nb + " bitmaps, exceeding the QEMU supported maximum"
                    + " of " + maxBitmaps);
        }
        if (nb == 0) {
            throw new FormatException("found bitmaps extension with zero bitmaps");
        }
        if ((e.bitmapDirectoryOffset() & (clusterSize - 1)) != 0) {
            throw new FormatException("bitmaps_ext: invalid bitmap directory offset");
        }
        if (Long.compareUnsigned(e.bitmapDirectorySize(), maxDirectorySize) > 0) {
            throw new FormatException("bitmaps_ext: bitmap directory size (" + Long.toUnsignedString(
                    e.bitmapDirectorySize()) + ") exceeds the maximum supported size (" + maxDirectorySize + ")");
        }
        return e;
    }

    public byte[] encode() {
        return ByteBuffer.allocate(LENGTH).order(ByteOrder.BIG_ENDIAN).putInt(nbBitmaps).putInt(0)
                .putLong(bitmapDirectorySize).putLong(bitmapDirectoryOffset).array();
    }
}
