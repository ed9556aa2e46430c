package dev.q2.check;

import dev.q2.check.CheckMessage.Severity;
import dev.q2.format.Limits;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The snapshot table's repair with {@code -r all} (qcow2_check_fix_snapshot_table, which calls
 * qcow2_write_snapshots): the table as read (snapshots dropped, extra data cut, incomplete entries completed) is
 * written into clusters QEMU's allocator would pick (first fit from cluster 0 over the repaired refcounts), their
 * refcounts are raised and flushed, the table is written and flushed, and only then does the header point at it
 * (12 bytes, flushed); the old table's clusters are freed last.
 */
final class SnapshotTableWriter {
    private final CheckContext c;

    SnapshotTableWriter(CheckContext context) {
        this.c = context;
    }

    /** Writes {@code t}; returns null, or the error text for {@code ERROR failed to update snapshot table}. */
    String write(SnapshotTable t) throws IOException {
        StoredRefcounts stored = c.stored;
        long size = t.newSize();
        if (size > Limits.MAX_SNAPSHOTS_SIZE) {
            return "File too large";
        }
        long nbClusters = c.sizeToClusters(size);
        long first = 0; // an empty table: QEMU's allocator answers the free-cluster cursor, which is 0 here
        if (nbClusters > 0) {
            try {
                long run = 0;
                for (long k = 0; run < nbClusters; k++) {
                    if (stored.get(k) != 0) {
                        run = 0;
                        continue;
                    }
                    if (run++ == 0) {
                        first = k;
                    }
                }
                for (long k = first; k < first + nbClusters; k++) {
                    if (stored.blockOffsetFor(k) == 0) {
                        // QEMU would allocate a refcount block here; q2 does not, and writes nothing
                        return "Operation not supported (q2 cannot allocate a refcount block for the new snapshot"
                                + " table)";
                    }
                }
            } catch (StoredRefcounts.UnreadableRefcount e) {
                return "Input/output error";
            }
        }
        long offset = first << c.clusterBits;
        if (size > 0 && !c.guard.preWriteOverlapCheck(0, offset, size)) {
            return "Input/output error";
        }
        try {
            for (long k = first; k < first + nbClusters; k++) {
                stored.set(k, 1);
            }
        } catch (StoredRefcounts.UnreadableRefcount e) {
            return "Input/output error";
        }
        stored.flush();
        c.file.flush(); // the new clusters are allocated on disk before anything is written into them
        if (size > 0) {
            c.file.writeFully(offset, t.encode(c.header.size()));
        }
        c.file.flush(); // the new table is on disk before the header points at it
        ByteBuffer h = ByteBuffer.allocate(12).order(ByteOrder.BIG_ENDIAN);
        h.putInt(0, t.entries.size()).putLong(4, offset);
        c.file.writeFully(60, h);
        c.file.flush();
        freeOldTable();
        return null;
    }

    /** qcow2_free_clusters on the old table. */
    private void freeOldTable() throws IOException {
        StoredRefcounts stored = c.stored;
        long oldOffset = c.header.snapshotsOffset();
        long oldSize = c.image.snapshotTableSize();
        if (oldSize <= 0) {
            return;
        }
        long start = oldOffset >>> c.clusterBits;
        long end = (oldOffset + oldSize - 1) >>> c.clusterBits;
        try {
            for (long k = start; k <= end; k++) {
                long r = stored.get(k);
                if (r == 0 || stored.blockOffsetFor(k) == 0) {
                    c.report(Severity.CHECK_ERROR, "qcow2_free_clusters failed: Invalid argument");
                    break;
                }
                stored.set(k, r - 1);
            }
        } catch (StoredRefcounts.UnreadableRefcount e) {
            c.report(Severity.CHECK_ERROR, "qcow2_free_clusters failed: Input/output error");
        }
        stored.flush();
        c.file.flush();
    }
}
