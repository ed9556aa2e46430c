package dev.q2.check;

import dev.q2.format.Limits;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Rebuilds the refcount structure from the counted references (QEMU's rebuild_refcount_structure): every refcount
 * block that has a nonzero refcount is written into a cluster that nothing references, then a new refcount table
 * is placed the same way (which may need more blocks, so this repeats until the table stops growing). Everything
 * new is written and synced before the header is switched to the new table, so a crash leaves either the old or
 * the new structure in force. The old structure is left behind as leaked clusters for the caller to free.
 */
final class RefcountRebuilder {
    private final Qcow2Checker c;
    private final long cs;
    private final int blockBits;
    private long[] reftable = new long[0];

    RefcountRebuilder(Qcow2Checker checker) {
        this.c = checker;
        this.cs = checker.clusterSize();
        this.blockBits = checker.refcountBlockBits();
    }

    void rebuild() throws IOException, CheckFailedException {
        writeRefblocks(0, c.counts().size());
        long reftableOffset;
        long reftableClusters;
        boolean grown;
        do {
            long length = reftable.length * 8L;
            reftableClusters = (length + cs - 1) / cs;
            long[] firstFree = {0};
            reftableOffset = c.allocInCounts((int) reftableClusters, firstFree);
            long start = reftableOffset / cs;
            grown = writeRefblocks(start, start + reftableClusters);
        } while (grown);

        ByteBuffer t = ByteBuffer.allocate(reftable.length * 8).order(ByteOrder.BIG_ENDIAN);
        t.asLongBuffer().put(reftable);
        if (!c.preWriteOverlapCheck(0, reftableOffset, t.capacity())) {
            fail("ERROR writing reftable");
        }
        c.file().writeFully(reftableOffset, t);
        c.file().flush(); // new blocks and table are on disk before the header points at them

        ByteBuffer hdr = ByteBuffer.allocate(12).order(ByteOrder.BIG_ENDIAN);
        hdr.putLong(reftableOffset).putInt((int) reftableClusters).flip();
        c.file().writeFully(48, hdr);
        c.file().flush();
        c.switchRefcountTable(reftableOffset, reftable.clone());
    }

    private void noMemory(String what) throws CheckFailedException {
        c.errWriter().println("q2: " + what);
        c.result().checkErrors++;
        throw new CheckFailedException("Cannot allocate memory");
    }

    private void fail(String what) throws CheckFailedException {
        c.errWriter().println("q2: " + what + ": Input/output error");
        c.result().checkErrors++;
        throw new CheckFailedException("Input/output error");
    }

    /**
     * Writes the refcount blocks for clusters [first, end) that have references, allocating the ones that do not
     * exist yet; returns whether the in-memory refcount table had to grow.
     */
    private boolean writeRefblocks(long first, long end) throws IOException, CheckFailedException {
        ReferenceCounts counts = c.counts();
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
                blockOffset = c.allocInCounts(1, firstFree);
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
            if (!c.preWriteOverlapCheck(0, blockOffset, cs)) {
                fail("ERROR writing refblock");
            }
            c.file().writeFully(blockOffset, c.encodeBlock(index));
            cluster = blockStart + blockSize - 1;
        }
        return grown;
    }
}
