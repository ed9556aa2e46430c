package dev.q2.check;

import dev.q2.check.CheckMessage.Severity;

import java.io.IOException;
import java.util.Arrays;

/**
 * OFLAG_COPIED mismatches of the active tables found during the counting walk of a check that repairs nothing (the
 * stored refcounts do not change then), kept compactly (three longs each) until they can be reported in
 * qemu-img's order, after the refcount comparison. Past {@link #MAX_FINDINGS} they are dropped and the separate
 * OFLAG_COPIED pass ({@link OflagCopiedCheck}) runs instead, so memory stays bounded on hostile images.
 */
final class CopiedFindings {
    static final int MAX_FINDINGS = 1 << 18;
    private final CheckContext c;
    private long[] rec = new long[3 * 64];
    private int n;
    private boolean overflow;

    CopiedFindings(CheckContext context) {
        this.c = context;
    }

    boolean overflowed() {
        return overflow;
    }

    void checkL1Entry(int index, long l1Entry) throws IOException {
        long r;
        try {
            r = c.stored.get((l1Entry & CheckContext.L1E_OFFSET_MASK) >>> c.clusterBits);
        } catch (StoredRefcounts.UnreadableRefcount e) {
            return;
        }
        if ((r == 1) != ((l1Entry & CheckContext.OFLAG_COPIED) != 0)) {
            add(index, l1Entry, r);
        }
    }

    void checkL2Entry(long entry) throws IOException {
        Long r = c.dataClusterRefcount(entry);
        if (r == null) {
            return;
        }
        if ((r == 1) != ((entry & CheckContext.OFLAG_COPIED) != 0)) {
            add(-1, entry, r);
        }
    }

    private void add(long tag, long entry, long refcount) {
        if (overflow) {
            return;
        }
        if (n == MAX_FINDINGS) {
            overflow = true;
            rec = null;
            return;
        }
        if (3 * n + 3 > rec.length) {
            rec = Arrays.copyOf(rec, rec.length * 2);
        }
        rec[3 * n] = tag;
        rec[3 * n + 1] = entry;
        rec[3 * n + 2] = refcount;
        n++;
    }

    /** Reports the findings as check_oflag_copied would have, and counts them as corruptions. */
    void report() {
        for (int k = 0; k < n; k++) {
            long tag = rec[3 * k];
            String refcount = Long.toUnsignedString(rec[3 * k + 2]);
            if (tag >= 0) {
                c.report(Severity.CORRUPTION, "ERROR OFLAG_COPIED L2 cluster: l1_index=" + tag + " l1_entry="
                        + Long.toHexString(rec[3 * k + 1]) + " refcount=" + refcount);
            } else {
                c.report(Severity.CORRUPTION, "ERROR OFLAG_COPIED data cluster: l2_entry="
                        + Long.toHexString(rec[3 * k + 1]) + " refcount=" + refcount);
            }
        }
        c.res.corruptions += n;
    }
}
