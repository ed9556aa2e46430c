package dev.q2.format;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * One entry of the bitmap directory (spec: "Bitmap directory"). Immutable.
 *
 * @param bitmapTableOffset bitmap_table_offset
 * @param bitmapTableSize bitmap_table_size: entries in the bitmap table
 * @param flags flags ({@link #FLAG_IN_USE}, {@link #FLAG_AUTO}, ...)
 * @param type type ({@link #TYPE_DIRTY_TRACKING})
 * @param granularityBits granularity_bits: log2 of the bytes one bit covers
 * @param name the bitmap's name
 * @param extraDataSize extra_data_size
 */
public record BitmapDirectoryEntry(
        long bitmapTableOffset,
        int bitmapTableSize,
        int flags,
        int type,
        int granularityBits,
        String name,
        int extraDataSize) {

    /** Bytes of an entry before its extra data and name. */
    public static final int FIXED_SIZE = 24;
    /** in_use: the bitmap was not saved cleanly (inconsistent). */
    public static final int FLAG_IN_USE = 1;
    /** auto: the bitmap is enabled (tracks writes). */
    public static final int FLAG_AUTO = 1 << 1;
    /** extra_data_compatible: unknown extra data may be ignored. */
    public static final int FLAG_EXTRA_DATA_COMPATIBLE = 1 << 2;

    /** @return whether the in_use flag is set */
    public boolean inUse() {
        return (flags & FLAG_IN_USE) != 0;
    }

    /** @return whether the auto flag is set */
    public boolean auto() {
        return (flags & FLAG_AUTO) != 0;
    }

    /** @return the bytes one bit covers */
    public long granularity() {
        return 1L << granularityBits;
    }

    /** BT_DIRTY_TRACKING_BITMAP, the only bitmap type the spec defines. */
    public static final int TYPE_DIRTY_TRACKING = 1;
    /** Flags the spec reserves (QEMU's BME_RESERVED_FLAGS: all but in_use and auto). */
    public static final int RESERVED_FLAGS = ~(FLAG_IN_USE | FLAG_AUTO);
    /** The smallest granularity_bits QEMU accepts. */
    public static final int MIN_GRANULARITY_BITS = 9;
    /** The largest granularity_bits QEMU accepts. */
    public static final int MAX_GRANULARITY_BITS = 31;
    /** The longest name, in bytes. */
    public static final int MAX_NAME_SIZE = 1023;
    /** Entries of one bitmap table at most (BME_MAX_TABLE_SIZE). */
    public static final long MAX_TABLE_SIZE = 0x8000000L;
    /** Bytes of bitmap data (table entries times cluster size) at most (BME_MAX_PHYS_SIZE). */
    public static final long MAX_PHYS_SIZE = 0x20000000L;

    /**
     * @param newFlags the new flags
     * @return a copy with them
     */
    public BitmapDirectoryEntry withFlags(int newFlags) {
        return new BitmapDirectoryEntry(bitmapTableOffset, bitmapTableSize, newFlags, type, granularityBits, name,
                extraDataSize);
    }

    /**
     * @param offset the new bitmap_table_offset
     * @param size the new bitmap_table_size
     * @return a copy with them
     */
    public BitmapDirectoryEntry withTable(long offset, int size) {
        return new BitmapDirectoryEntry(offset, size, flags, type, granularityBits, name, extraDataSize);
    }

    /**
     * Bitmap table entries a bitmap of this granularity needs for a disk of {@code diskSize} bytes: one per
     * cluster of bits, the bits counted in whole 64-bit words as QEMU serializes them.
     *
     * @param diskSize the guest disk size in bytes
     * @param granularityBits log2 of the bytes one bit covers
     * @param clusterSize the cluster size in bytes
     * @return the number of table entries
     */
    public static long tableEntriesFor(long diskSize, int granularityBits, long clusterSize) {
        long bits = ceilDiv(diskSize, 1L << granularityBits);
        long bytes = ceilDiv(bits, 64) * 8;
        return ceilDiv(bytes, clusterSize);
    }

    private static long ceilDiv(long a, long b) {
        return a / b + (a % b != 0 ? 1 : 0);
    }

    /**
     * Whether the entry keeps the spec's constraints as QEMU checks them (check_dir_entry): a table at a nonzero,
     * cluster-aligned offset, 1 to MAX_TABLE_SIZE entries of at most MAX_PHYS_SIZE bytes of data, granularity
     * 2^9..2^31, no reserved flags, a name of at most 1023 bytes, the dirty tracking type, and, unless in use, a
     * table large enough for the disk.
     *
     * @param clusterSize the image's cluster size
     * @param diskSize the image's guest size
     * @return true when QEMU accepts the entry
     */
    public boolean satisfiesConstraints(long clusterSize, long diskSize) {
        return satisfiesConstraints(clusterSize, diskSize, name.getBytes(StandardCharsets.UTF_8).length);
    }

    /**
     * As {@link #satisfiesConstraints(long, long)}, with the name's length as stored ({@code name_size}).
     *
     * @param clusterSize the image's cluster size
     * @param diskSize the image's guest size
     * @param nameSize name_size as stored
     * @return true when QEMU accepts the entry
     */
    public boolean satisfiesConstraints(long clusterSize, long diskSize, int nameSize) {
        long tableSize = Integer.toUnsignedLong(bitmapTableSize);
        if (tableSize == 0 || bitmapTableOffset == 0 || Long.remainderUnsigned(bitmapTableOffset, clusterSize) != 0
                || tableSize > MAX_TABLE_SIZE || granularityBits > MAX_GRANULARITY_BITS
                || granularityBits < MIN_GRANULARITY_BITS || (flags & RESERVED_FLAGS) != 0
                || nameSize > MAX_NAME_SIZE || type != TYPE_DIRTY_TRACKING) {
            return false;
        }
        long physBytes = tableSize * clusterSize;
        if (physBytes > MAX_PHYS_SIZE) {
            return false;
        }
        // physBytes <= 2^29 and granularity <= 2^31: the product is at most 2^63, compared unsigned as QEMU does
        long coverage = (physBytes * 8) << granularityBits;
        return inUse() || Long.compareUnsigned(diskSize, coverage) <= 0;
    }

    /** @return bytes of this entry on disk, padded to 8 */
    public int encodedLength() {
        int len = FIXED_SIZE + extraDataSize + name.getBytes(StandardCharsets.UTF_8).length;
        return (len + 7) & ~7;
    }

    /**
     * Writes the entry without extra data (as QEMU stores entries) at the buffer's position, with its padding.
     *
     * @param out where to write (big-endian is set on it)
     */
    public void encode(ByteBuffer out) {
        encode(out, name.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * As {@link #encode(ByteBuffer)} with the name's bytes as they were stored (names need not be UTF-8).
     *
     * @param out where to write (big-endian is set on it)
     * @param n the name's bytes
     */
    public void encode(ByteBuffer out, byte[] n) {
        ByteBuffer b = out.order(ByteOrder.BIG_ENDIAN);
        int start = b.position();
        b.putLong(bitmapTableOffset).putInt(bitmapTableSize).putInt(flags).put((byte) type)
                .put((byte) granularityBits).putShort((short) n.length).putInt(0).put(n);
        while (((b.position() - start) & 7) != 0) {
            b.put((byte) 0);
        }
    }

    /**
     * Decodes one entry at the buffer's position and advances past it and its padding.
     *
     * @param in the directory's bytes (big-endian is set on it)
     * @return the entry
     * @throws FormatException when the entry is truncated or runs past the directory
     */
    public static BitmapDirectoryEntry decode(ByteBuffer in) throws FormatException {
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
