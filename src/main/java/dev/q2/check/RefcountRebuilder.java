package dev.q2.check;

import dev.q2.check.CheckMessage.Severity;
import dev.q2.format.RefcountBlock;
import dev.q2.format.Limits;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Phase 3 of qcow2_check_refcounts with {@code -r all} (rebuild_refcount_structure): rebuilds the refcount structure from the counted references (QEMU's rebuild_refcount_structure): every refcount
 * block that has a nonzero refcount is written into a cluster that nothing references, then a new refcount table
 * is placed the same way (which may need more blocks, so this repeats until the table stops growing). Everything
 * new is written and synced before the header is switched to the new table, so a crash leaves either the old or
 * the new structure in force. The old structure is left behind as leaked clusters for the caller to free.
 */
final class RefcountRebuilder {
    private final CheckContext c;
    private final long cs;
    private final int blockBits;
    private long[] reftable = new long[0];

    RefcountRebuilder(CheckContext context) {
        this.c = context;
        this.cs = context.clusterSize;
        this.blockBits = context.stored.blockBits();
    }

    void rebuild() throws IOException, CheckFailedException {
        writeRefblocks(0, c.counts.size());
        long reftableOffset;
        long reftableClusters;
        boolean grown;
        do {
            long length = reftable.length * 8L;
            reftableClusters = (length + cs - 1) / cs;
            long[] firstFree = {0};
            reftableOffset = allocInCounts((int) reftableClusters, firstFree);
            long start = reftableOffset / cs;
            grown = writeRefblocks(start, start + reftableClusters);
        } while (grown);

        ByteBuffer t = ByteBuffer.allocate(reftable.length * 8).order(ByteOrder.BIG_ENDIAN);
        t.asLongBuffer().put(reftable);
        if (!c.guard.preWriteOverlapCheck(0, reftableOffset, t.capacity())) {
            fail("ERROR writing reftable");
        }
        c.file.writeFully(reftableOffset, t);
        c.file.flush(); // new blocks and table are on disk before the header points at them

        ByteBuffer hdr = ByteBuffer.allocate(12).order(ByteOrder.BIG_ENDIAN);
        hdr.putLong(reftableOffset).putInt((int) reftableClusters).flip();
        c.file.writeFully(48, hdr);
        c.file.flush();
        c.switchRefcountTable(reftableOffset, reftable.clone());
    }

    private void noMemory(String what) throws CheckFailedException {
        c.errorReport(Severity.CHECK_ERROR, what);
        c.res.checkErrors++;
        throw new CheckFailedException("Cannot allocate memory");
    }

    private void fail(String what) throws CheckFailedException {
        c.errorReport(Severity.CHECK_ERROR, what + ": Input/output error");
        c.res.checkErrors++;
        throw new CheckFailedException("Input/output error");
    }

    /**
     * Writes the refcount blocks for clusters [first, end) that have references, allocating the ones that do not
     * exist yet; returns whether the in-memory refcount table had to grow.
     */
    private boolean writeRefblocks(long first, long end) throws IOException, CheckFailedException {
        ReferenceCounts counts = c.counts;
        long[] firstFree = {0};
        boolean grown = false;
        long blockSize = 1L << blockBits;
        for (long cluster = first; cluster < end; cluster++) {
            if (counts.pageEmpty(cluster)) {
                long next = ((cluster >>> ReferenceCounts.PAGE_BITS) + 1) << ReferenceCounts.PAGE_BITS;
                cluster = next - 1;
                continue;
            }
            if (counts.get(cluster) == 0) {
                continue;
            }
            long index = cluster >>> blockBits;
            long blockStart = index << blockBits;
            long blockOffset;
            if (reftable.length > index && reftable[(int) index] != 0) {
                blockOffset = reftable[(int) index];
            } else {
                if (firstFree[0] < blockStart) {
                    firstFree[0] = blockStart; // never inside a block already written
                }
                blockOffset = allocInCounts(1, firstFree);
                long blockCluster = blockOffset / cs;
                if (blockCluster >= end) {
                    end = blockCluster + 1; // the block holding this block's refcount must be written too
                }
                if (reftable.length <= index) {
                    long entries = (((index + 1) * 8 + cs - 1) / cs) * cs / 8;
                    if (entries > Limits.MAX_REFTABLE_SIZE / 8) {
                        // QEMU's g_try_realloc fails with ENOMEM only when the machine runs out; q2 stops at the
                        // largest table an open accepts (a bigger one would leave an image no one can open) and
                        // before the JVM's heap runs out
                        noMemory("ERROR allocating reftable memory");
                    }
                    reftable = Arrays.copyOf(reftable, (int) entries);
                    grown = true;
                }
                reftable[(int) index] = blockOffset;
            }
            if (!c.guard.preWriteOverlapCheck(0, blockOffset, cs)) {
                fail("ERROR writing refblock");
            }
            c.file.writeFully(blockOffset, encodeBlock(index));
            cluster = blockStart + blockSize - 1;
        }
        return grown;
    }

    /** Allocation in the counted references (alloc_clusters_imrt); returns the host offset. */
    private long allocInCounts(int clusterCount, long[] firstFree) {
        ReferenceCounts counts = c.counts;
        long cluster = firstFree[0];
        boolean firstGap = true;
        int contiguous = 0;
        long nb = counts.size();
        for (; cluster < nb && contiguous < clusterCount; cluster++) {
            if (counts.get(cluster) == 0) {
                contiguous++;
                if (firstGap) {
                    firstFree[0] = cluster;
                    firstGap = false;
                }
            } else if (contiguous != 0) {
                contiguous = 0;
            }
        }
        if (contiguous < clusterCount) {
            counts.grow(cluster + clusterCount - contiguous);
        }
        cluster -= contiguous;
        for (int i = 0; i < clusterCount; i++) {
            counts.set(cluster + i, 1);
        }
        return cluster << c.clusterBits;
    }

    /** The counted references of refcount block {@code index}, encoded as a refcount block. */
    private ByteBuffer encodeBlock(long index) {
        ReferenceCounts counts = c.counts;
        long first = index << blockBits;
        ByteBuffer b = ByteBuffer.allocate((int) cs).order(ByteOrder.BIG_ENDIAN);
        int order = c.header.refcountOrder();
        for (int j = 0; j < (1 << blockBits); j++) {
            long cluster = first + j;
            if (j % ReferenceCounts.PAGE_SIZE == 0 && counts.pageEmpty(cluster)) {
                j += ReferenceCounts.PAGE_SIZE - 1;
                continue;
            }
            long v = counts.get(cluster);
            if (v != 0) {
                RefcountBlock.set(b, order, j, v);
            }
        }
        return b;
    }
}
