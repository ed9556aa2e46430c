package dev.q2.format;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The bitmap directory (spec: "Bitmap directory") as a whole: decoded as QEMU reads it when it opens an image
 * (qcow2-bitmap.c, bitmap_list_load and check_dir_entry: entries one after another, each padded to 8 bytes,
 * exactly as many as the bitmaps extension says and filling the directory exactly; any rule broken makes the image
 * unopenable, with QEMU's message), and encoded as QEMU stores one (entries without extra data).
 */
public final class BitmapDirectory {
    private BitmapDirectory() {
    }

    /**
     * Decodes and checks the directory {@code dir} (its whole remaining content is the directory) of an image with
     * the given cluster size and virtual size (QEMU's bdrv_getlength of the image).
     *
     * @param dir the directory's bytes
     * @param nbBitmaps nb_bitmaps from the bitmaps extension
     * @param clusterSize the image's cluster size
     * @param virtualSize the image's guest size
     * @return the entries in order
     * @throws FormatException with QEMU's message when QEMU refuses the directory
     */
    public static List<BitmapDirectoryEntry> decode(ByteBuffer dir, long nbBitmaps, long clusterSize,
                                                    long virtualSize) throws FormatException {
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
            BitmapDirectoryEntry e = new BitmapDirectoryEntry(tableOffset, (int) tableSize, flags, type,
                    granularityBits, name, 0);
            if (!e.satisfiesConstraints(clusterSize, virtualSize, nameSize)) {
                throw new FormatException("Bitmap '" + name + "' doesn't satisfy the constraints");
            }
            out.add(e);
            pos += (int) entrySize;
        }
        if (n != nbBitmaps) {
            throw new FormatException("Less bitmaps found than specified in header extension");
        }
        return Collections.unmodifiableList(out);
    }

    /**
     * {@link #decode(ByteBuffer, long, long, long)} of a directory read into an array.
     *
     * @param dir the directory's bytes
     * @param nbBitmaps nb_bitmaps from the bitmaps extension
     * @param clusterSize the image's cluster size
     * @param virtualSize the image's guest size
     * @return the entries in order
     * @throws FormatException with QEMU's message when QEMU refuses the directory
     */
    public static List<BitmapDirectoryEntry> decode(byte[] dir, long nbBitmaps, long clusterSize, long virtualSize)
            throws FormatException {
        return decode(ByteBuffer.wrap(dir), nbBitmaps, clusterSize, virtualSize);
    }

    /**
     * Bytes the directory takes.
     *
     * @param entries its entries
     * @return the directory's length
     */
    public static int encodedLength(List<BitmapDirectoryEntry> entries) {
        int n = 0;
        for (BitmapDirectoryEntry e : entries) {
            n += e.encodedLength();
        }
        return n;
    }

    /**
     * Encodes a directory (names as UTF-8).
     *
     * @param entries its entries
     * @return the directory's bytes
     */
    public static byte[] encode(List<BitmapDirectoryEntry> entries) {
        ByteBuffer b = ByteBuffer.allocate(encodedLength(entries));
        for (BitmapDirectoryEntry e : entries) {
            e.encode(b);
        }
        return b.array();
    }

    /**
     * The names of the entries of a directory that {@link #decode} accepted, as stored: bytes, since QEMU's names
     * are C strings that need not be UTF-8 and a rewritten directory must keep them exactly.
     *
     * @param dir the directory's bytes
     * @return each entry's name bytes, in order
     */
    public static List<byte[]> rawNames(byte[] dir) {
        ByteBuffer b = ByteBuffer.wrap(dir).order(ByteOrder.BIG_ENDIAN);
        List<byte[]> out = new ArrayList<>();
        int pos = 0;
        while (pos + BitmapDirectoryEntry.FIXED_SIZE <= dir.length) {
            int nameSize = b.getShort(pos + 18) & 0xffff;
            int extra = b.getInt(pos + 20);
            byte[] n = new byte[nameSize];
            b.get(pos + BitmapDirectoryEntry.FIXED_SIZE + extra, n);
            out.add(n);
            pos += (BitmapDirectoryEntry.FIXED_SIZE + extra + nameSize + 7) & ~7;
        }
        return out;
    }

    /**
     * Encodes entries with the given stored names (one per entry, in order), each entry padded with zeros.
     *
     * @param entries the entries
     * @param names their names' bytes
     * @return the directory's bytes
     */
    public static byte[] encode(List<BitmapDirectoryEntry> entries, List<byte[]> names) {
        int size = 0;
        for (byte[] n : names) {
            size += (BitmapDirectoryEntry.FIXED_SIZE + n.length + 7) & ~7;
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        for (int i = 0; i < entries.size(); i++) {
            entries.get(i).encode(b, names.get(i));
        }
        return b.array();
    }

    /** Bitmap table entries (spec: "Bitmap table"): bit 0 all-ones, bits 9-55 the data cluster offset. */
    public static final long TABLE_ENTRY_OFFSET_MASK = 0x00fffffffffffe00L;
    /** Bits of a bitmap table entry that must be zero. */
    public static final long TABLE_ENTRY_RESERVED_MASK = 0xff000000000001feL;
    /** Bit 0 of a bitmap table entry without a data cluster: all its bits are set. */
    public static final long TABLE_ENTRY_ALL_ONES = 1L;

    /**
     * Whether a bitmap table entry is valid (QEMU's check_table_entry).
     *
     * @param entry the table entry
     * @param clusterSize the image's cluster size
     * @return true when QEMU accepts it
     */
    public static boolean validTableEntry(long entry, long clusterSize) {
        if ((entry & TABLE_ENTRY_RESERVED_MASK) != 0) {
            return false;
        }
        long offset = entry & TABLE_ENTRY_OFFSET_MASK;
        return offset == 0 || ((entry & TABLE_ENTRY_ALL_ONES) == 0 && (offset & (clusterSize - 1)) == 0);
    }

    private static FormatException broken() {
        return new FormatException("Broken bitmap directory");
    }
}
