package dev.q2.image;

import dev.q2.format.BitmapDirectory;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * One persistent bitmap's bits while the image is open ({@link PersistentBitmaps}): the clusters of bits that writes
 * touched, the rest read from its old table on demand. Not thread-safe.
 */
final class BitmapBits {
    final int granularityBits;
    boolean enabled;
    /** Created in this session: no old table to free. */
    boolean isNew;
    /** Cleared in this session: chunks not touched since read as zeros, not from the old table. */
    boolean cleared;
    final long[] table;
    final long bits;
    final long bitsPerChunk;
    final Map<Integer, byte[]> touched = new HashMap<>();
    private final ImageFile file;
    /** The cluster size: one table entry's bits. */
    private final long cs;

    BitmapBits(ImageFile file, long cs, long diskSize, int granularityBits, boolean enabled, long[] table) {
        this.file = file;
        this.cs = cs;
        this.granularityBits = granularityBits;
        this.enabled = enabled;
        this.table = table;
        this.bits = (diskSize + (1L << granularityBits) - 1) >>> granularityBits;
        this.bitsPerChunk = cs * 8;
    }

    /** Bits of table entry {@code c}; bits past the end of the disk are zero, as QEMU stores them. */
    byte[] chunk(int c, boolean keep) throws IOException {
        byte[] b = touched.get(c);
        if (b != null) {
            return b;
        }
        b = new byte[(int) cs];
        long entry = cleared ? 0 : table[c];
        long off = entry & BitmapDirectory.TABLE_ENTRY_OFFSET_MASK;
        if (off != 0) {
            file.readZeroFilled(off, ByteBuffer.wrap(b));
        } else if ((entry & BitmapDirectory.TABLE_ENTRY_ALL_ONES) != 0) {
            Arrays.fill(b, (byte) 0xff);
        }
        long valid = Math.min(bitsPerChunk, bits - c * bitsPerChunk);
        if (valid < bitsPerChunk) {
            clearFrom(b, (int) valid);
        }
        if (keep) {
            touched.put(c, b);
        }
        return b;
    }

    /** Sets the bits covering guest bytes [from, to). */
    void set(long from, long to) throws IOException {
        long first = from >>> granularityBits;
        long last = (to - 1) >>> granularityBits;
        for (long bit = first; bit <= last; ) {
            int c = (int) (bit / bitsPerChunk);
            long chunkEnd = Math.min(last, (c + 1) * bitsPerChunk - 1);
            setRange(chunk(c, true), (int) (bit - c * bitsPerChunk), (int) (chunkEnd - c * bitsPerChunk));
            bit = chunkEnd + 1;
        }
    }

    /** Sets bits a..b (inclusive) of a chunk; bit j of byte i is bit 8i+j (spec: "Bitmap data"). */
    private static void setRange(byte[] b, int a, int z) {
        int i = a;
        while (i <= z && (i & 7) != 0) {
            b[i >>> 3] |= (byte) (1 << (i & 7));
            i++;
        }
        while (i + 7 <= z) {
            b[i >>> 3] = (byte) 0xff;
            i += 8;
        }
        while (i <= z) {
            b[i >>> 3] |= (byte) (1 << (i & 7));
            i++;
        }
    }

    private static void clearFrom(byte[] b, int bit) {
        int i = bit;
        while ((i & 7) != 0) {
            b[i >>> 3] &= (byte) ~(1 << (i & 7));
            i++;
        }
        Arrays.fill(b, i >>> 3, b.length, (byte) 0);
    }
}
