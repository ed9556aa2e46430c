package dev.q2.check;

import dev.q2.format.BitmapDirectoryEntry;
import dev.q2.format.BitmapsExtension;

import java.io.IOException;
import java.util.List;

/**
 * Counts the references of the persistent bitmaps (qcow2_check_bitmaps_refcounts): the bitmap directory, each
 * bitmap table and the clusters it points to. A bitmap table QEMU would refuse to load fails the check, as there.
 */
final class BitmapReferences {
    static final long BME_OFFSET_MASK = 0x00fffffffffffe00L;
    static final long BME_RESERVED_MASK = 0xff000000000001feL;

    private final CheckContext c;

    BitmapReferences(CheckContext context) {
        this.c = context;
    }

    void run() throws IOException, CheckFailedException {
        List<BitmapDirectoryEntry> bitmaps = c.image.bitmaps();
        if (bitmaps.isEmpty()) {
            return;
        }
        BitmapsExtension ext = c.image.bitmapsExtension();
        c.incRefcounts(ext.bitmapDirectoryOffset(), ext.bitmapDirectorySize());
        for (BitmapDirectoryEntry bm : bitmaps) {
            long entries = Integer.toUnsignedLong(bm.bitmapTableSize());
            c.incRefcounts(bm.bitmapTableOffset(), entries * 8);
            if (entries > BitmapDirectoryEntry.MAX_TABLE_SIZE) { // QEMU refuses to load a larger table
                c.res.corruptions++;
                throw new CheckFailedException("Invalid argument");
            }
            if (StoredRefcounts.outsideBlockLayer(bm.bitmapTableOffset(), entries * 8)) {
                c.res.corruptions++; // bitmap_table_load: the read fails (-EIO)
                throw new CheckFailedException("Input/output error");
            }
            // bitmap_table_load validates the whole table first: one bad entry fails the check (-EINVAL)
            for (int pass = 0; pass < 2; pass++) {
                for (long first = 0; first < entries; first += 65536) {
                    int n = (int) Math.min(65536, entries - first);
                    long[] chunk = c.readLongs(bm.bitmapTableOffset() + first * 8, n);
                    for (long e : chunk) {
                        long offset = e & BME_OFFSET_MASK;
                        if (pass == 0) {
                            if ((e & BME_RESERVED_MASK) != 0 || (offset & (c.clusterSize - 1)) != 0
                                    || ((e & 1) != 0 && offset != 0)) {
                                c.res.corruptions++;
                                throw new CheckFailedException("Invalid argument");
                            }
                        } else if (offset != 0) {
                            c.incRefcounts(offset, c.clusterSize);
                        }
                    }
                }
            }
        }
    }
}
