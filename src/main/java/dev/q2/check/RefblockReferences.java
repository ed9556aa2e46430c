package dev.q2.check;

import dev.q2.check.CheckMessage.Severity;

import java.io.IOException;

/**
 * Counts the references of the refcount blocks and checks the refcount table's entries (check_refblocks): reserved
 * bits and misaligned blocks call for a rebuild; a block past the end of the file is repaired with {@code -r all}
 * by growing the file over it (or, where the file cannot grow, by a rebuild).
 */
final class RefblockReferences {
    static final long REFT_RESERVED_MASK = 0x1ffL;

    private final CheckContext c;

    RefblockReferences(CheckContext context) {
        this.c = context;
    }

    void run(CheckMode fix) throws IOException {
        long[] table = c.stored.table();
        long clusterSize = c.clusterSize;
        for (int i = 0; i < table.length; i++) {
            long offset = table[i] & StoredRefcounts.REFT_OFFSET_MASK;
            long cluster = offset >>> c.clusterBits;
            if ((table[i] & REFT_RESERVED_MASK) != 0) {
                c.report(Severity.CORRUPTION, "ERROR refcount table entry " + i + " has reserved bits set");
                c.res.corruptions++;
                c.rebuild = true;
                continue;
            }
            if ((offset & (clusterSize - 1)) != 0) {
                c.report(Severity.CORRUPTION, "ERROR refcount block " + i
                        + " is not cluster aligned; refcount table entry corrupted");
                c.res.corruptions++;
                c.rebuild = true;
                continue;
            }
            if (cluster >= c.counts.size()) {
                c.res.corruptions++;
                c.finding(fix.fixErrors(), " refcount block " + i + " is outside image");
                if (fix.fixErrors()) {
                    growOver(offset);
                }
                continue;
            }
            if (offset != 0) {
                c.incRefcounts(offset, clusterSize);
                long r = c.counts.get(cluster);
                if (r != 1) {
                    c.report(Severity.CORRUPTION, "ERROR refcount block " + i + " refcount="
                            + Long.toUnsignedString(r));
                    c.res.corruptions++;
                    c.rebuild = true;
                }
            }
        }
    }

    /**
     * Grows the file so that the block at {@code offset} is inside it (it reads as zeros, as it did before). Where
     * the file cannot grow there, QEMU gives up on the block and rebuilds the refcount structure.
     */
    private void growOver(long offset) throws IOException {
        long clusterSize = c.clusterSize;
        String failure = null;
        long newLength = offset + clusterSize;
        if (offset < 0 || offset > Long.MAX_VALUE - clusterSize) {
            failure = "Invalid argument";
        } else if (newLength > StoredRefcounts.BDRV_MAX_LENGTH) {
            // bdrv_co_truncate refuses a length the block layer cannot address
            c.errorReport(Severity.CHECK_ERROR, "offset(" + newLength + ") exceeds maximum("
                    + StoredRefcounts.BDRV_MAX_LENGTH + ")");
            failure = "Input/output error";
        } else {
            try {
                c.file.setLength(newLength);
                c.file.flush();
            } catch (IOException e) {
                failure = e.getMessage() == null ? "Input/output error" : e.getMessage();
                c.errorReport(Severity.CHECK_ERROR, "Could not resize file: " + failure); // the truncate's error
            }
        }
        if (failure != null) {
            c.rebuild = true;
            c.report(Severity.CHECK_ERROR, "ERROR could not resize image: " + failure);
            return;
        }
        c.fileLength = c.file.size();
        c.counts.grow(c.sizeToClusters(c.fileLength));
        c.res.corruptions--;
        c.res.corruptionsFixed++;
        c.incRefcounts(offset, clusterSize);
    }
}
