package dev.q2.chain;

import dev.q2.format.Features;
import dev.q2.format.QcowHeader;
import dev.q2.format.RefcountBlock;
import dev.q2.image.HeaderUpdate;
import dev.q2.image.Qcow2Metadata;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * QEMU's make_completely_empty (qcow2_make_empty for a version 3 image without snapshots, bitmaps, encryption or
 * data file, whose L1 table and three more clusters fit in one refcount block): the image is rebuilt as a header, a
 * one-cluster refcount table, one refcount block and a zeroed L1 table of the same size, and cut after them. In
 * QEMU's order, each step synced: dirty bit set; L1 table zeroed; the clusters after the header zeroed; the header
 * pointed at the new tables; the first refcount block entered; the new clusters counted; the header rewritten clean
 * (qcow2_update_header); the file cut.
 */
final class EmptyImage {
    private EmptyImage() {
    }

    /** Whether QEMU empties {@code img} completely (else it discards every cluster). */
    static boolean completely(Qcow2Metadata img) {
        QcowHeader h = img.header();
        long cs = h.clusterSize();
        long l1Clusters = l1Clusters(h);
        long refblockEntries = RefcountBlock.entriesPerBlock(h.clusterBits(), h.refcountOrder());
        return h.version() >= 3 && img.snapshots().isEmpty() && img.bitmaps().isEmpty()
                && 3 + l1Clusters <= refblockEntries && h.cryptMethod() != 2
                && (h.incompatibleFeatures() & Features.INCOMPAT_DATA_FILE) == 0 && cs > 0;
    }

    private static long l1Clusters(QcowHeader h) {
        long perCluster = h.clusterSize() / 8;
        return (h.l1Size() + perCluster - 1) / perCluster;
    }

    static void empty(ImageFile f, boolean durable) throws IOException {
        Qcow2Metadata img = Qcow2Metadata.load(f);
        QcowHeader h = img.header();
        long cs = h.clusterSize();
        long l1Clusters = l1Clusters(h);
        long incompat = h.incompatibleFeatures();
        if ((incompat & Features.INCOMPAT_DIRTY) == 0) {
            putLong(f, 72, incompat | Features.INCOMPAT_DIRTY);
            sync(f, durable);
        }
        zero(f, h.l1TableOffset(), l1Clusters * cs);
        zero(f, cs, (2 + l1Clusters) * cs);
        ByteBuffer fields = ByteBuffer.allocate(20);
        fields.putLong(3 * cs).putLong(cs).putInt(1).flip();
        f.writeFully(40, fields); // l1_table_offset, refcount_table_offset, refcount_table_clusters
        sync(f, durable);
        putLong(f, cs, 2 * cs);
        sync(f, durable);
        ByteBuffer block = ByteBuffer.allocate((int) cs);
        for (int i = 0; i < 3 + l1Clusters; i++) {
            RefcountBlock.set(block, h.refcountOrder(), i, 1);
        }
        block.clear();
        f.writeFully(2 * cs, block);
        sync(f, durable);
        QcowHeader clean = h.withIncompatibleFeatures(incompat & ~Features.INCOMPAT_DIRTY)
                .withL1(3 * cs, h.l1Size()).withRefcountTable(cs, 1);
        HeaderUpdate.rewrite(f, clean, img.extensions(), HeaderUpdate.backingFileBytes(f, h));
        sync(f, durable);
        f.setLength((3 + l1Clusters) * cs);
        sync(f, durable);
    }

    private static void zero(ImageFile f, long offset, long length) throws IOException {
        ByteBuffer z = ByteBuffer.allocate((int) Math.min(length, 1 << 20));
        for (long done = 0; done < length; ) {
            int n = (int) Math.min(z.capacity(), length - done);
            z.clear().limit(n);
            f.writeFully(offset + done, z);
            done += n;
        }
    }

    private static void putLong(ImageFile f, long offset, long value) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8);
        b.putLong(value).flip();
        f.writeFully(offset, b);
    }

    private static void sync(ImageFile f, boolean durable) throws IOException {
        if (durable) {
            f.flush();
        }
    }
}
