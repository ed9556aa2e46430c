package dev.q2.format;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The bitmap directory (spec: "Bitmap directory") as a whole: decoded with the checks QEMU makes before it uses
 * one (bitmap_list_load), and encoded as QEMU stores one (entries without extra data, each padded to 8 bytes).
 */
public final class BitmapDirectory {
    private BitmapDirectory() {
    }

    /**
     * Decodes {@code nbBitmaps} entries that must fill {@code dir} exactly. Failures carry QEMU's messages
     * ("Broken bitmap directory", "Bitmap extra data is not supported", "Bitmap 'NAME' doesn't satisfy the
     * constraints", and the counts against the header extension).
     */
    public static List<BitmapDirectoryEntry> decode(byte[] dir, long nbBitmaps, long clusterSize, long diskSize) {
        if (dir.length == 0) {
            throw new FormatException("Requested bitmap directory size is zero");
        }
        ByteBuffer b = ByteBuffer.wrap(dir).order(ByteOrder.BIG_ENDIAN);
        List<BitmapDirectoryEntry> out = new ArrayList<>();
        while (b.position() < dir.length) {
            int start = b.position();
            if (dir.length - start < BitmapDirectoryEntry.FIXED_SIZE) {
                throw new FormatException("Broken bitmap directory");
            }
            if (out.size() + 1L > nbBitmaps) {
                throw new FormatException("More bitmaps found than specified in header extension");
            }
            int nameSize = b.getShort(start + 18) & 0xffff;
            long extra = Integer.toUnsignedLong(b.getInt(start + 20));
            long size = (BitmapDirectoryEntry.FIXED_SIZE + extra + nameSize + 7) & ~7L;
            if (size > dir.length - start) {
                throw new FormatException("Broken bitmap directory");
            }
            if (extra != 0) {
                throw new FormatException("Bitmap extra data is not supported");
            }
            BitmapDirectoryEntry e = BitmapDirectoryEntry.decode(b);
            if (!e.satisfiesConstraints(clusterSize, diskSize, nameSize)) {
                throw new FormatException("Bitmap '" + e.name() + "' doesn't satisfy the constraints");
            }
            out.add(e);
            b.position((int) (start + size));
        }
        if (out.size() != nbBitmaps) {
            throw new FormatException("Less bitmaps found than specified in header extension");
        }
        return out;
    }

    /** Bytes the directory takes. */
    public static int encodedLength(List<BitmapDirectoryEntry> entries) {
        int n = 0;
        for (BitmapDirectoryEntry e : entries) {
            n += e.encodedLength();
        }
        return n;
    }

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

    /** Encodes entries with the given stored names (one per entry, in order), each entry padded with zeros. */
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
    public static final long TABLE_ENTRY_RESERVED_MASK = 0xff000000000001feL;
    public static final long TABLE_ENTRY_ALL_ONES = 1L;

    /** Whether a bitmap table entry is valid (QEMU's check_table_entry). */
    public static boolean validTableEntry(long entry, long clusterSize) {
        if ((entry & TABLE_ENTRY_RESERVED_MASK) != 0) {
            return false;
        }
        long offset = entry & TABLE_ENTRY_OFFSET_MASK;
        return offset == 0 || ((entry & TABLE_ENTRY_ALL_ONES) == 0 && (offset & (clusterSize - 1)) == 0);
    }
}
