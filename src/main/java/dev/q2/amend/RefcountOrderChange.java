package dev.q2.amend;

import dev.q2.Q2Exception.Category;
import dev.q2.format.RefcountBlock;
import dev.q2.format.Limits;
import dev.q2.image.RefcountAllocator;
import dev.q2.io.ImageFile;
import dev.q2.resize.ResizeException;
import dev.q2.resize.Resizer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * qcow2_change_refcount_order: new refcount blocks and table at the new width, placed by the image's allocator as
 * QEMU places them. Walks over the old refcounts until a walk allocates nothing (each allocation of a new refcount
 * block or of the new table changes the refcounts the new blocks must hold), then writes the new blocks and table;
 * the caller switches the header to them and frees the old structures in the new ones.
 */
final class RefcountOrderChange {
    private static final long REFT_OFFSET_MASK = 0xfffffffffffffe00L;

    private final Resizer.Qcow2Open img;
    private final ImageFile file;
    private final RefcountAllocator old;
    private final int clusterBits;
    private final long cs;
    private final int oldOrder;
    private final int newOrder;
    private final long oldBlockSize;
    private final int newBlockSize;
    private final Amender.Helper helper;

    long[] newTable = new long[0];
    /**
     * Whether the new block being filled holds copied refcounts: it is zeroed once written, so that the refcounts
     * of clusters without an old refcount block (most of a table's entries) need no writing (QEMU clears them one
     * range at a time: 2 GiB of memset for the 8192-entry table of a 64 GiB image).
     */
    private boolean touched;
    long newTableOffset;

    RefcountOrderChange(Resizer.Qcow2Open img, RefcountAllocator old, int clusterBits, int oldOrder, int newOrder,
                        Amender.Helper helper) {
        this.img = img;
        this.file = img.file();
        this.old = old;
        this.clusterBits = clusterBits;
        this.cs = 1L << clusterBits;
        this.oldOrder = oldOrder;
        this.newOrder = newOrder;
        this.oldBlockSize = 1L << (clusterBits + 3 - oldOrder);
        this.newBlockSize = 1 << (clusterBits + 3 - newOrder);
        this.helper = helper;
    }

    /** Allocates and writes the new structures; returns the new table (its offset in {@link #newTableOffset}). */
    void run() throws IOException {
        int walk = 0;
        long allocatedTableSize = 0;
        boolean allocated;
        do {
            int totalWalks = Math.max(walk + 2, 3);
            allocated = walk(null, walk++, totalWalks);
            dev.q2.util.Phases.mark("amend: allocating walk");
            if (allocated) {
                if (newTableOffset != 0) {
                    old.freeClusters(newTableOffset, allocatedTableSize * 8);
                }
                newTableOffset = old.allocClusters(newTable.length * 8L);
                allocatedTableSize = newTable.length;
            }
        } while (allocated);
        ByteBuffer block = ByteBuffer.allocate((int) cs).order(ByteOrder.BIG_ENDIAN);
        walk(block, walk, walk + 1);
        dev.q2.util.Phases.mark("amend: writing walk");
        ByteBuffer t = ByteBuffer.allocate(newTable.length * 8).order(ByteOrder.BIG_ENDIAN);
        t.asLongBuffer().put(newTable);
        file.writeFully(newTableOffset, t);
        img.sync();
        old.flush();
        img.sync();
    }

    /**
     * One walk_over_reftable; with {@code block} it writes the new blocks, without it allocates them. The old
     * refcounts are read from their block's bytes a run at a time (a run ends where a new block fills, the only
     * place where the walk allocates and so changes old refcounts): a 64 GiB image has a million of them per walk.
     */
    private boolean walk(ByteBuffer block, int index, int total) throws IOException {
        boolean[] allocated = {false};
        byte[] newBytes = block == null ? null : block.array();
        int newIndex = 0;
        boolean empty = true;
        long ntIndex = 0;
        // QEMU reads the table afresh at each entry: allocations may grow (and move) it during the walk
        for (int i = 0; i < old.tableSize(); i++) {
            helper.status((long) index * old.tableSize() + i, (long) total * old.tableSize());
            long blockOffset = old.tableEntry(i) & REFT_OFFSET_MASK;
            if (blockOffset != 0) {
                long first = i * oldBlockSize;
                int j = 0;
                while (j < oldBlockSize) {
                    if (newIndex >= newBlockSize) {
                        finish(block, ntIndex++, empty, allocated);
                        newIndex = 0;
                        empty = true;
                    }
                    byte[] oldBytes = old.blockBytes(first, false); // (the same block; asked again after finish)
                    int run = (int) Math.min(oldBlockSize - j, newBlockSize - newIndex);
                    empty = empty && scan(oldBytes, first, j, run) == 0;
                    if (newBytes != null) {
                        copy(oldBytes, j, newBytes, newIndex, run);
                    }
                    newIndex += run;
                    j += run;
                }
            } else {
                long remaining = oldBlockSize;
                while (remaining > 0) {
                    if (newIndex >= newBlockSize) {
                        finish(block, ntIndex++, empty, allocated);
                        newIndex = 0;
                        empty = true;
                    }
                    int take = (int) Math.min(remaining, newBlockSize - newIndex);
                    newIndex += take;
                    remaining -= take;
                }
            }
        }
        if (newIndex > 0) {
            finish(block, ntIndex, empty, allocated);
        }
        helper.status((long) (index + 1) * old.tableSize(), (long) total * old.tableSize());
        return allocated[0];
    }

    /**
     * The bits of refcounts {@code [from, from + run)} of an old block ORed together (0: all free); fails on one the
     * new width cannot hold. (Scanning and copying are loops of their own, so that each is compiled for itself.)
     */
    private long scan(byte[] oldBytes, long first, int from, int run) throws ResizeException {
        long limit = newOrder < 6 ? 1L << (1 << newOrder) : 0; // refcounts must stay below it (0: no limit)
        long any = 0;
        for (int k = from; k < from + run; k++) {
            long rc = RefcountBlock.get(oldBytes, oldOrder, k);
            if (limit != 0 && Long.compareUnsigned(rc, limit) >= 0) {
                long offset = (first + k) << clusterBits;
                throw new ResizeException(Category.UNSUPPORTED, "Cannot decrease refcount entry width to "
                        + (1 << newOrder) + " bits: Cluster at offset 0x" + Long.toHexString(offset)
                        + " has a refcount of " + Long.toUnsignedString(rc));
            }
            any |= rc;
        }
        return any;
    }

    /** Copies {@code run} refcounts from an old block at {@code from} to a new one at {@code to}. */
    private void copy(byte[] oldBytes, int from, byte[] newBytes, int to, int run) {
        touched = true;
        for (int k = 0; k < run; k++) {
            RefcountBlock.set(newBytes, newOrder, to + k, RefcountBlock.get(oldBytes, oldOrder, from + k));
        }
    }

    /** alloc_refblock (no block) or flush_refblock (with the block's contents). */
    private void finish(ByteBuffer block, long ntIndex, boolean empty, boolean[] allocated) throws IOException {
        if (block == null) {
            if (!empty && ntIndex >= newTable.length) {
                long size = (ntIndex + 1 + cs / 8 - 1) / (cs / 8) * (cs / 8);
                if (size > Limits.MAX_REFTABLE_SIZE / 8) {
                    throw new ResizeException(Category.UNSUPPORTED, "This operation would make the refcount table"
                            + " grow beyond the maximum size supported by QEMU, aborting");
                }
                newTable = Arrays.copyOf(newTable, (int) size);
            }
            if (!empty && newTable[(int) ntIndex] == 0) {
                newTable[(int) ntIndex] = old.allocClusters(cs);
                allocated[0] = true;
            }
            return;
        }
        if (ntIndex < newTable.length && newTable[(int) ntIndex] != 0) {
            ByteBuffer b = block.duplicate();
            b.clear();
            file.writeFully(newTable[(int) ntIndex], b);
        }
        if (touched) {
            Arrays.fill(block.array(), (byte) 0);
            touched = false;
        }
    }
}
