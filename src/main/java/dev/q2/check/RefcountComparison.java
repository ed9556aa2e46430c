package dev.q2.check;

import dev.q2.check.CheckMessage.Severity;
import dev.q2.format.RefcountBlock;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Phase 2 of qcow2_check_refcounts (compare_refcounts): compares every stored refcount with the counted references;
 * reports leaks and corruptions and, as {@code fix} allows, repairs them by storing the counted value (leaks with
 * {@code -r leaks}, too-low refcounts with {@code -r all}). A zero refcount on a referenced cluster calls for a
 * rebuild. Also finds the highest cluster in use (image-end-offset).
 */
final class RefcountComparison {
    private final CheckContext c;

    RefcountComparison(CheckContext context) {
        this.c = context;
    }

    void run(CheckMode fix) throws IOException {
        ReferenceCounts counts = c.counts;
        StoredRefcounts stored = c.stored;
        long nb = counts.size();
        int chunkBits = Math.min(stored.blockBits(), ReferenceCounts.PAGE_BITS);
        long chunk = 1L << chunkBits;
        c.highestCluster = 0;
        int order = c.header.refcountOrder();
        long mask = (1L << stored.blockBits()) - 1;
        boolean narrowCounts = c.refcountMax >= 0 && c.refcountMax < 0xffff;
        int pageMask = ReferenceCounts.PAGE_SIZE - 1;
        for (long base = 0; base < nb; base += chunk) {
            long end = Math.min(nb, base + chunk);
            if (stored.blockOffsetFor(base) == 0 && counts.pageEmpty(base)) {
                continue; // no stored refcounts and no references in this range
            }
            ByteBuffer block;
            try {
                block = stored.blockFor(base);
            } catch (StoredRefcounts.UnreadableRefcount e) {
                for (long i = base; i < end; i++) {
                    unreadable(i, e); // QEMU skips the cluster entirely, even for image-end-offset
                }
                continue;
            }
            char[] page = counts.page(base);
            for (long i = base; i < end; i++) {
                long r1;
                if (block == null) {
                    r1 = 0;
                } else if (order == 4) {
                    r1 = block.getChar((int) (i & mask) << 1);
                } else {
                    r1 = RefcountBlock.get(block, order, (int) (i & mask));
                }
                long r2 = page == null ? 0 : page[(int) i & pageMask];
                if (r2 == 0xffff && !narrowCounts) {
                    r2 = counts.get(i);
                }
                if ((r1 | r2) != 0) {
                    c.highestCluster = i;
                    if (r1 != r2) {
                        mismatch(i, r1, r2, fix);
                    }
                }
            }
        }
    }

    private void unreadable(long cluster, StoredRefcounts.UnreadableRefcount e) {
        if (e.unaligned) {
            c.guard.signalCorruption("Refblock offset " + CheckContext.hashHex(e.blockOffset)
                    + " unaligned (reftable index: " + CheckContext.hashHex(e.tableIndex) + ")");
        }
        c.report(Severity.CHECK_ERROR, "Can't get refcount for cluster " + cluster + ": Input/output error");
        c.res.checkErrors++;
    }

    private void mismatch(long i, long r1, long r2, CheckMode fix) throws IOException {
        int cmp = Long.compareUnsigned(r1, r2);
        boolean fixLeak = false;
        boolean fixCorruption = false;
        if (r1 == 0) {
            c.rebuild = true;
        } else if (cmp > 0 && fix.fixLeaks()) {
            fixLeak = true;
        } else if (cmp < 0 && fix.fixErrors()) {
            fixCorruption = true;
        }
        boolean repairing = fixLeak || fixCorruption;
        String what = repairing ? "Repairing" : cmp < 0 ? "ERROR" : "Leaked";
        c.report(repairing ? Severity.REPAIR : cmp < 0 ? Severity.CORRUPTION : Severity.LEAK, what + " cluster " + i
                + " refcount=" + Long.toUnsignedString(r1) + " reference=" + Long.toUnsignedString(r2));
        if (repairing) {
            try {
                c.stored.set(i, r2);
                if (fixLeak) {
                    c.res.leaksFixed++;
                } else {
                    c.res.corruptionsFixed++;
                }
                return;
            } catch (StoredRefcounts.UnreadableRefcount e) {
                // fall through: count it as not fixed
            }
        }
        if (cmp < 0) {
            c.res.corruptions++;
        } else {
            c.res.leaks++;
        }
    }
}
