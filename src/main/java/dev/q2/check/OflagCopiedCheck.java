package dev.q2.check;

import dev.q2.check.CheckMessage.Severity;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Phase 4 of qcow2_check_refcounts (check_oflag_copied): OFLAG_COPIED must be set exactly on the active L1 and L2
 * entries whose cluster has refcount 1. Repaired with {@code -r all}, and with {@code -r leaks} when the refcounts
 * are now right; each repaired table is written after an overlap check and flushed.
 */
final class OflagCopiedCheck {
    private final CheckContext c;

    OflagCopiedCheck(CheckContext context) {
        this.c = context;
    }

    void run() throws IOException, CheckFailedException {
        CheckMode mode = c.mode;
        boolean repair;
        if (mode.fixErrors()) {
            repair = true;
        } else if (mode.fixLeaks()) {
            // safe only when the refcounts are now right
            repair = c.res.checkErrors == 0 && c.res.corruptions == 0 && c.res.leaks == 0;
        } else {
            repair = false;
        }
        long[] l1Table = c.l1Table;
        int n = 0;
        long[] l2Offsets = new long[l1Table.length];
        for (long e : l1Table) {
            if ((e & CheckContext.L1E_OFFSET_MASK) != 0) {
                l2Offsets[n++] = e & CheckContext.L1E_OFFSET_MASK;
            }
        }
        TableReader.Batch batch = repair ? null : c.tables.open(l2Offsets, n);
        int k = 0;
        for (int i = 0; i < l1Table.length; i++) {
            long l1Entry = l1Table[i];
            long l2Offset = l1Entry & CheckContext.L1E_OFFSET_MASK;
            if (l2Offset == 0) {
                continue;
            }
            ByteBuffer table = batch != null ? batch.get(k++) : null;
            long refcount;
            try {
                refcount = c.stored.get(l2Offset >>> c.clusterBits);
            } catch (StoredRefcounts.UnreadableRefcount e) {
                continue;
            }
            if ((refcount == 1) != ((l1Entry & CheckContext.OFLAG_COPIED) != 0)) {
                c.res.corruptions++;
                c.finding(repair, " OFLAG_COPIED L2 cluster: l1_index=" + i + " l1_entry="
                        + Long.toHexString(l1Entry) + " refcount=" + Long.toUnsignedString(refcount));
                if (repair) {
                    repairL1Entry(i, refcount);
                }
            }
            if (table == null) {
                table = ByteBuffer.allocate((int) c.clusterSize).order(ByteOrder.BIG_ENDIAN);
                c.file.readZeroFilled(l2Offset, table);
                table.clear();
            }
            checkL2Table(l2Offset, table, repair);
        }
    }

    private void repairL1Entry(int i, long refcount) throws IOException, CheckFailedException {
        long l1Entry = c.l1Table[i];
        c.l1Table[i] = refcount == 1 ? l1Entry | CheckContext.OFLAG_COPIED : l1Entry & ~CheckContext.OFLAG_COPIED;
        long pos = c.header.l1TableOffset() + 8L * i;
        if (!c.guard.preWriteOverlapCheck(Overlaps.ACTIVE_L1, pos, 8)) {
            c.res.checkErrors++;
            throw new CheckFailedException("Input/output error");
        }
        ByteBuffer b = ByteBuffer.allocate(8).putLong(0, c.l1Table[i]);
        c.file.writeFully(pos, b);
        c.file.flush();
        c.res.corruptions--;
        c.res.corruptionsFixed++;
    }

    private void checkL2Table(long l2Offset, ByteBuffer table, boolean repair)
            throws IOException, CheckFailedException {
        int dirty = 0;
        int entrySize = c.l2EntrySize;
        for (int j = 0; j < c.l2Entries; j++) {
            long entry = table.getLong(j * entrySize);
            if (entry == 0) {
                continue;
            }
            int type = c.clusterType(entry);
            if (type != CheckContext.NORMAL && type != CheckContext.ZERO_ALLOC) {
                continue;
            }
            Long r = c.dataClusterRefcount(entry);
            if (r == null) {
                continue;
            }
            if ((r == 1) != ((entry & CheckContext.OFLAG_COPIED) != 0)) {
                c.res.corruptions++;
                c.finding(repair, " OFLAG_COPIED data cluster: l2_entry=" + Long.toHexString(entry)
                        + " refcount=" + Long.toUnsignedString(r));
                if (repair) {
                    table.putLong(j * entrySize, r == 1 ? entry | CheckContext.OFLAG_COPIED
                            : entry & ~CheckContext.OFLAG_COPIED);
                    dirty++;
                }
            }
        }
        if (dirty > 0) {
            if (!c.guard.preWriteOverlapCheck(Overlaps.ACTIVE_L2, l2Offset, c.clusterSize)) {
                c.report(Severity.CHECK_ERROR,
                        "ERROR: Could not write L2 table; metadata overlap check failed: Input/output error");
                c.res.checkErrors++;
                throw new CheckFailedException("Input/output error");
            }
            ByteBuffer b = table.duplicate();
            b.clear();
            c.file.writeFully(l2Offset, b);
            c.file.flush();
            c.res.corruptions -= dirty;
            c.res.corruptionsFixed += dirty;
        }
    }
}
