package dev.q2.check;

import dev.q2.check.CheckMessage.Severity;
import dev.q2.image.Qcow2Metadata;

import java.io.IOException;

/**
 * One pass of qemu-img 7.2's qcow2 check (qcow2_co_check) over an open image, with the repairs of {@code -r leaks}
 * and {@code -r all}: reads and checks the snapshot table ({@link SnapshotTable}), checks the refcounts
 * ({@link RefcountCheck}), rewrites the snapshot table when its entries were repaired ({@link SnapshotTableWriter}),
 * and clears the dirty and corrupt bits after a repair that left nothing broken.
 *
 * <p>Repairs are written in an order that keeps the image repairable if q2 stops half-way: refcount changes are
 * written and synced before the L1/L2 flags that depend on them; a rebuilt refcount structure is written into
 * clusters nothing uses and synced before the header points at it; the dirty and corrupt bits are cleared last.
 */
final class CheckPass {
    private CheckPass() {
    }

    /**
     * Runs one pass on an image loaded with {@link Qcow2Metadata#loadForCheck}; with a repairing mode its file must be
     * writable. Returns the counts; throws when the check could not be completed.
     */
    static CheckResult run(Qcow2Metadata image, CheckMode mode, CheckSession session, CheckListener listener)
            throws IOException, CheckFailedException {
        if (session.driverGone) {
            throw new CheckFailedException("No medium found");
        }
        session.passes++;
        listener.phase(CheckPhase.SNAPSHOT_TABLE, session.passes > 1);
        CheckCounts snapshotRes = new CheckCounts();
        SnapshotTable snapshots = SnapshotTable.read(image.file(), image.header(), mode, listener, snapshotRes);
        image.replaceSnapshots(snapshots.entries, snapshots.size);
        CheckContext c = new CheckContext(image, mode, session, listener);
        try {
            new RefcountCheck(c).run();
            if (mode.fixErrors() && snapshotRes.corruptions != 0) {
                // qcow2_check_fix_snapshot_table: only the snapshot table's own corruptions make it rewrite it
                listener.phase(CheckPhase.SNAPSHOT_TABLE_REWRITE, session.passes > 1);
                String failure = new SnapshotTableWriter(c).write(snapshots);
                if (failure != null) {
                    snapshotRes.checkErrors++;
                    c.report(Severity.CHECK_ERROR, "ERROR failed to update snapshot table: " + failure);
                    throw new CheckFailedException(failure);
                }
                snapshotRes.corruptionsFixed += snapshotRes.corruptions;
                snapshotRes.corruptions = 0;
            }
            c.res.addProblems(snapshotRes);
            c.guard.markCleanIfRepaired();
            return c.res.freeze();
        } catch (CheckContext.NoMemory e) {
            throw new CheckFailedException("Cannot allocate memory");
        } finally {
            c.tables.close();
        }
    }
}
