package dev.q2.format;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The bitmap directory as QEMU reads it when it opens an image (qcow2-bitmap.c, bitmap_list_load and
 * check_dir_entry): entries one after another, each padded to 8 bytes, exactly as many as the bitmaps extension
 * says and filling the directory exactly. Any rule broken makes the image unopenable, with QEMU's message.
 */
public final class BitmapDirectory {
    /** BME_MAX_TABLE_SIZE: entries of one bitmap table. */
    public static final long MAX_TABLE_SIZE = 0x8000000L;
    /** BME_MAX_PHYS_SIZE: bytes of bitmap data one bitmap may take. */
    public static final long MAX_PHYS_SIZE = 0x20000000L;
    public static final int MIN_GRANULARITY_BITS = 9;
    public static final int MAX_GRANULARITY_BITS = 31;
    /** BME_RESERVED_FLAGS: every flag but in_use and auto. */
    public static final int RESERVED_FLAGS = 0xfffffffc;
    public static final int MAX_NAME_SIZE = 1023;
    /** BT_DIRTY_TRACKING_BITMAP, the only bitmap type. */
    public static final int TYPE_DIRTY_TRACKING = 1;

    private BitmapDirectory() {
    }

    /**
     * Decodes and checks the directory {@code dir} (its whole remaining content is the directory) of an image with
     * the given cluster size and virtual size (QEMU's bdrv_getlength of the image).
     *
     * @throws FormatException with QEMU's message when QEMU refuses the directory
     */
    public static List<BitmapDirectoryEntry> decode(ByteBuffer dir, long nbBitmaps, long clusterSize,
                                                    long virtualSize) {
        ByteBuffer b = dir.slice().order(ByteOrder.BIG_ENDIAN);
        int size = b.remaining();
        if (size == 0) {
            throw new FormatException("Requested bitmap directory size is zero");
        }
        List<BitmapDirectoryEntry> out = new ArrayList<>();
        int pos = 0;
        long n = 0;
        while (pos < size) {
            if (size - pos < BitmapDirectoryEntry.FIXED_SIZE) {
                throw broken();
            }
            if (++n > nbBitmaps) {
                throw new FormatException("More bitmaps found than specified in header extension");
            }
            long tableOffset = b.getLong(pos);
            long tableSize = Integer.toUnsignedLong(b.getInt(pos + 8));
            int flags = b.getInt(pos + 12);
            int type = b.get(pos + 16) & 0xff;
            int granularityBits = b.get(pos + 17) & 0xff;
            int nameSize = b.getShort(pos + 18) & 0xffff;
            long extra = Integer.toUnsignedLong(b.getInt(pos + 20));
            long entrySize = (BitmapDirectoryEntry.FIXED_SIZE + nameSize + extra + 7) & ~7L;
            if (entrySize > size - pos) {
                throw broken();
            }
            if (extra != 0) {
                throw new FormatException("Bitmap extra data is not supported");
            }
            byte[] nameBytes = new byte[nameSize];
            b.get(pos + BitmapDirectoryEntry.FIXED_SIZE, nameBytes);
            String name = CStrings.decode(nameBytes); // QEMU copies it with g_strndup
            if (!satisfiesConstraints(tableOffset, tableSize, flags, type, granularityBits, nameSize, clusterSize,
                    virtualSize)) {
                throw new FormatException("Bitmap '" + name + "' doesn't satisfy the constraints");
            }
            out.add(new BitmapDirectoryEntry(tableOffset, (int) tableSize, flags, type, granularityBits, name, 0));
            pos += (int) entrySize;
        }
        if (n != nbBitmaps) {
            throw new FormatException("Less bitmaps found than specified in header extension");
        }
        return Collections.unmodifiableList(out);
    }

    /** check_dir_entry. */
    private static boolean satisfiesConstraints(long tableOffset, long tableSize, int flags, int type,
                                                int granularityBits, int nameSize, long clusterSize,
                                                long virtualSize) {
        if (tableSize == 0 || tableOffset == 0 || Long.remainderUnsigned(tableOffset, clusterSize) != 0
                || tableSize > MAX_TABLE_SIZE || granularityBits > MAX_GRANULARITY_BITS
                || granularityBits < MIN_GRANULARITY_BITS || (flags & RESERVED_FLAGS) != 0
                || nameSize > MAX_NAME_SIZE || type != TYPE_DIRTY_TRACKING) {
            return false;
        }
        long physBytes = tableSize * clusterSize;
        if (physBytes > MAX_PHYS_SIZE) {
            return false;
        }
        // a bitmap that is not in use must cover the whole disk (an in-use one may be stale after a resize)
        long coverage = (physBytes * 8) << granularityBits; // at most 2^63, compared unsigned as QEMU does
        return (flags & BitmapDirectoryEntry.FLAG_IN_USE) != 0 || Long.compareUnsigned(virtualSize, coverage) <= 0;
    }

    private static FormatException broken() {
        return new FormatException("Broken bitmap directory");
    }
}
