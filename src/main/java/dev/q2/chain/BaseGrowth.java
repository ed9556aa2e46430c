package dev.q2.chain;

import dev.q2.format.QcowHeader;
import dev.q2.image.Qcow2Metadata;
import dev.q2.image.RefcountAllocator;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Grows a closed qcow2 image as QEMU's qcow2_co_truncate grows it without preallocation (what qemu-img commit does
 * to a base smaller than the image committed into it): a larger L1 table of exactly the entries the new size needs
 * when the old one is too small (new table allocated and written, then the header pointed at it, then the old table
 * freed), then the size field.
 */
final class BaseGrowth {
    private BaseGrowth() {
    }

    static void grow(ImageFile f, long newSize, boolean durable) throws IOException {
        Qcow2Metadata img = Qcow2Metadata.load(f);
        QcowHeader h = img.header();
        if (!img.snapshots().isEmpty() && h.version() < 3) {
            throw new ChainException("Can't resize a v2 image which has snapshots");
        }
        if (!img.bitmaps().isEmpty()) {
            // QEMU resizes the loaded bitmaps with the image; q2 does not do that yet
            throw new ChainException("q2 cannot grow a base image that has persistent bitmaps yet");
        }
        long cs = h.clusterSize();
        long l2Entries = cs / h.l2EntrySize();
        long coverage = cs * l2Entries;
        long newL1 = (newSize + coverage - 1) / coverage;
        if (newL1 > h.l1Size()) {
            if (newL1 > (32L << 20) / 8) {
                throw new ChainException("File too large"); // QCOW_MAX_L1_SIZE: EFBIG
            }
            RefcountAllocator rc = new RefcountAllocator(f, h.clusterBits(), h.refcountOrder(),
                    h.refcountTableOffset(), img.refcountTable());
            long bytes = newL1 * 8;
            long offset = rc.allocClusters(bytes);
            rc.flush();
            sync(f, durable);
            ByteBuffer table = ByteBuffer.allocate((int) bytes);
            for (long e : img.l1Table()) {
                table.putLong(e);
            }
            table.clear();
            f.writeFully(offset, table);
            sync(f, durable);
            ByteBuffer fields = ByteBuffer.allocate(12);
            fields.putInt((int) newL1).putLong(offset).flip();
            f.writeFully(36, fields); // l1_size, l1_table_offset
            sync(f, durable);
            if (h.l1Size() > 0) {
                rc.freeClusters(h.l1TableOffset(), h.l1Size() * 8L);
                rc.flush();
            }
        }
        ByteBuffer size = ByteBuffer.allocate(8);
        size.putLong(newSize).flip();
        f.writeFully(24, size);
        sync(f, durable);
    }

    private static void sync(ImageFile f, boolean durable) throws IOException {
        if (durable) {
            f.flush();
        }
    }
}
