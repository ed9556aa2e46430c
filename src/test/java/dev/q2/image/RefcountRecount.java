package dev.q2.image;

import dev.q2.format.CompressedDescriptor;
import dev.q2.format.L1Entry;
import dev.q2.format.L2Entry;
import dev.q2.format.RefcountBlock;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A small independent consistency check for tests: counts the references to every host cluster (header, refcount
 * table and blocks, L1, L2, data, compressed spans) and compares them with the stored refcounts and the
 * OFLAG_COPIED bits. Images with snapshots are out of its scope.
 */
final class RefcountRecount {
    private RefcountRecount() {
    }

    static List<String> problems(Path path) throws IOException {
        List<String> out = new ArrayList<>();
        try (Qcow2Image img = Qcow2Image.openReadOnly(path)) {
            long cs = img.clusterSize();
            int cb = img.header().clusterBits();
            Map<Long, Long> refs = new HashMap<>();
            add(refs, 0, cs, cs);
            add(refs, img.header().refcountTableOffset(), (long) img.header().refcountTableClusters() * cs, cs);
            for (long b : img.refcountTable()) {
                if (b != 0) {
                    add(refs, b & ~(cs - 1), cs, cs);
                }
            }
            add(refs, img.header().l1TableOffset(), (long) img.header().l1Size() * 8, cs);
            boolean external = img.dataFile() != null;
            for (long e : img.l1Table()) {
                long l2 = L1Entry.l2Offset(e);
                if (l2 == 0) {
                    continue;
                }
                add(refs, l2, cs, cs);
                L2Table t = img.readL2Table(l2);
                for (int i = 0; i < t.size(); i++) {
                    long entry = t.entry(i);
                    L2Entry.Type type = t.type(i);
                    if (type == L2Entry.Type.COMPRESSED) {
                        CompressedDescriptor d = CompressedDescriptor.decode(entry, cb);
                        long start = d.hostOffset() & ~511L;
                        add(refs, start, d.endOffset() - start, cs);
                    } else if ((type == L2Entry.Type.NORMAL || type == L2Entry.Type.ZERO_ALLOC) && !external) {
                        add(refs, L2Entry.hostOffset(entry), cs, cs);
                    }
                }
            }
            long fileClusters = (img.file().size() + cs - 1) / cs;
            long maxCluster = Math.max(fileClusters, refs.keySet().stream().mapToLong(x -> x + 1).max().orElse(0));
            for (long c = 0; c < maxCluster; c++) {
                long stored = storedRefcount(img, c);
                long counted = refs.getOrDefault(c, 0L);
                if (stored != counted) {
                    out.add("cluster " + c + " refcount=" + stored + " reference=" + counted);
                }
            }
            for (long e : img.l1Table()) {
                long l2 = L1Entry.l2Offset(e);
                if (l2 != 0 && L1Entry.copied(e) != (storedRefcount(img, l2 / cs) == 1)) {
                    out.add("OFLAG_COPIED L1 entry " + Long.toHexString(e));
                }
                if (l2 == 0) {
                    continue;
                }
                L2Table t = img.readL2Table(l2);
                for (int i = 0; i < t.size(); i++) {
                    L2Entry.Type type = t.type(i);
                    if ((type == L2Entry.Type.NORMAL || type == L2Entry.Type.ZERO_ALLOC) && !external
                            && L2Entry.copied(t.entry(i)) != (storedRefcount(img, L2Entry.hostOffset(t.entry(i)) / cs)
                            == 1)) {
                        out.add("OFLAG_COPIED L2 entry " + Long.toHexString(t.entry(i)));
                    }
                }
            }
        }
        return out;
    }

    private static void add(Map<Long, Long> refs, long offset, long length, long cs) {
        if (length <= 0) {
            return;
        }
        for (long c = offset / cs; c <= (offset + length - 1) / cs; c++) {
            refs.merge(c, 1L, Long::sum);
        }
    }

    private static long storedRefcount(Qcow2Image img, long cluster) throws IOException {
        int order = img.header().refcountOrder();
        long perBlock = RefcountBlock.entriesPerBlock(img.header().clusterBits(), order);
        long t = cluster / perBlock;
        if (t >= img.refcountTable().length || img.refcountTable()[(int) t] == 0) {
            return 0;
        }
        ByteBuffer b = ByteBuffer.allocate((int) img.clusterSize());
        img.file().readFully(img.refcountTable()[(int) t] & ~511L, b);
        return RefcountBlock.get(b, order, (int) (cluster % perBlock));
    }
}
