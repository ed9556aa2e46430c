package dev.q2.check;

import dev.q2.check.CheckMessage.Severity;

import java.io.IOException;

/**
 * qcow2_check_refcounts: counts the references ({@link ReferenceWalk}), compares them with the stored refcounts
 * ({@link RefcountComparison}), rebuilds the refcount structure when it is broken and {@code -r all} allows it
 * ({@link RefcountRebuilder}), else repairs single refcounts, flushes the refcounts, and then checks OFLAG_COPIED
 * ({@link OflagCopiedCheck}), which relies on them.
 */
final class RefcountCheck {
    private final CheckContext c;

    RefcountCheck(CheckContext context) {
        this.c = context;
    }

    void run() throws IOException, CheckFailedException {
        CheckMode mode = c.mode;
        c.fileLength = c.file.size();
        long nbClusters = c.sizeToClusters(c.fileLength);
        if (nbClusters > Integer.MAX_VALUE) {
            c.res.checkErrors++;
            throw new CheckFailedException("File too large");
        }
        long virtualBytes = (c.header.size() >>> 9) << 9; // bs->total_sectors * 512
        c.res.totalClusters = c.sizeToClusters(virtualBytes);
        c.counts = new ReferenceCounts(nbClusters, c.refcountMax);

        phase(CheckPhase.REFERENCES);
        // Without repairs the stored refcounts do not change, so OFLAG_COPIED can be checked while the active L2
        // tables are in memory for counting; the findings are reported after the comparison.
        CopiedFindings copied = mode.repairs() ? null : new CopiedFindings(c);
        new ReferenceWalk(c, copied).run(mode);
        phase(CheckPhase.COMPARE);
        CheckCounts preCompare = c.res.copy();
        RefcountComparison comparison = new RefcountComparison(c);
        comparison.run(CheckMode.NONE);

        if (c.rebuild && mode.fixErrors()) {
            phase(CheckPhase.REBUILD);
            rebuild(comparison);
        } else if (mode.repairs()) {
            if (c.rebuild) {
                c.report(Severity.CHECK_ERROR, "ERROR need to rebuild refcount structures");
                c.res.checkErrors++;
                throw new CheckFailedException("Input/output error");
            }
            if (c.res.leaks != 0 || c.res.corruptions != 0) {
                c.res = preCompare;
                comparison.run(mode);
            }
        }
        if (c.stored.hasDirtyBlocks()) {
            c.stored.flush();
            c.file.flush(); // refcounts reach the disk before any OFLAG_COPIED change that relies on them
        }
        phase(CheckPhase.OFLAG_COPIED);
        if (copied != null && !copied.overflowed()) {
            copied.report();
        } else {
            new OflagCopiedCheck(c).run();
        }
        c.res.imageEndOffset = (c.highestCluster + 1) * c.clusterSize;
    }

    /** The rebuild and the counts after it: the old structure's clusters are leaks now, freed with -r leaks. */
    private void rebuild(RefcountComparison comparison) throws IOException, CheckFailedException {
        CheckCounts old = c.res.copy();
        long freshLeaks = 0;
        c.report(Severity.INFO, "Rebuilding refcount structure");
        new RefcountRebuilder(c).rebuild();
        c.fileLength = c.file.size(); // the new structure may lie past the old end of the file
        c.res.corruptions = 0;
        c.res.leaks = 0;
        c.rebuild = false;
        c.counts.clear();
        new ReferenceWalk(c, null).run(CheckMode.NONE);
        if (c.mode.fixLeaks()) {
            CheckCounts saved = c.res;
            c.res = new CheckCounts();
            comparison.run(CheckMode.LEAKS);
            if (c.rebuild) {
                c.report(Severity.CHECK_ERROR, "ERROR rebuilt refcount structure is still broken");
            }
            freshLeaks = c.res.leaks;
            c.res = saved;
        }
        if (c.res.corruptions < old.corruptions) {
            c.res.corruptionsFixed += old.corruptions - c.res.corruptions;
        }
        if (c.res.leaks < old.leaks) {
            c.res.leaksFixed += old.leaks - c.res.leaks;
        }
        c.res.leaks += freshLeaks;
    }

    private void phase(CheckPhase phase) {
        c.listener.phase(phase, c.session.passes > 1);
    }
}
