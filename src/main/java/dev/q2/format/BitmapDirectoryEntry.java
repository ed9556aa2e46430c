package dev.q2.format;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** One entry of the bitmap directory (spec: "Bitmap directory"). */
public record BitmapDirectoryEntry(
        long bitmapTableOffset,
        int bitmapTableSize,
        int flags,
        int type,
        int granularityBits,
        String name,
        int extraDataSize) {

    public static final int FIXED_SIZE = 24;
    public static final int FLAG_IN_USE = 1;
    public static final int FLAG_AUTO = 1 << 1;
    public static final int FLAG_EXTRA_DATA_COMPATIBLE = 1 << 2;

    public boolean inUse() {
        return (flags & FLAG_IN_USE) != 0;
    }

    public boolean auto() {
        return (flags & FLAG_AUTO) != 0;
    }

    public long granularity() {
        return 1L << granularityBits;
    }

    /** Decodes one entry at the buffer's position and advances past it and its padding. */
    public static BitmapDirectoryEntry decode(ByteBuffer in) {
        ByteBuffer b = in.order(ByteOrder.BIG_ENDIAN);
        if (b.remaining() < FIXED_SIZE) {
            throw new FormatException("bitmap directory entry is truncated");
        }
        int start = b.position();
        long tableOffset = b.getLong();
        int tableSize = b.getInt();
        int flags = b.getInt();
        int type = b.get() & 0xff;
        int granularityBits = b.get() & 0xff;
        int nameSize = b.getShort() & 0xffff;
        int extra = b.getInt();
        if (extra < 0 || b.remaining() < (long) extra + nameSize) {
            throw new FormatException("bitmap directory entry runs past the end of the bitmap directory");
        }
        b.position(b.position() + extra);
        byte[] name = new byte[nameSize];
        b.get(name);
        int len = b.position() - start;
        int pad = ((len + 7) & ~7) - len;
        b.position(Math.min(b.limit(), b.position() + pad));
        return new BitmapDirectoryEntry(tableOffset, tableSize, flags, type, granularityBits,
                new String(name, StandardCharsets.UTF_8), extra);
    }
}
