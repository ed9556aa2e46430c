package dev.q2.map;

import java.io.IOException;

/**
 * Block status as QEMU's block layer computes it ({@code bdrv_co_block_status}): a driver's answer for one node,
 * completed by the generic rules that qemu-img map's output depends on — areas a node allocates are "allocated",
 * unallocated areas of a node with no backing file (or past the end of a shorter backing file) read as zeros, a raw
 * node answers with its file's status, and a recursion into the file turns holes under preallocated clusters into
 * zeros.
 */
final class BlockStatus {
    private BlockStatus() {
    }

    static final int DATA = 0x01;
    static final int ZERO = 0x02;
    static final int OFFSET_VALID = 0x04;
    static final int RAW = 0x08;
    static final int ALLOCATED = 0x10;
    static final int EOF = 0x20;
    static final int RECURSE = 0x40;

    /** The out-parameters of a query. */
    static final class Result {
        long pnum;
        long map;
        Node file;
    }

    /**
     * Status of {@code [offset, offset + bytes)} of {@code node} alone (not looking below it). Returns the flags and
     * fills {@code r}; {@code r.pnum} is 0 only at or past the end of the node.
     */
    static int query(Node node, long offset, long bytes, Result r) throws IOException {
        r.pnum = 0;
        r.map = 0;
        r.file = null;
        long total = node.length();
        if (offset >= total) {
            return EOF;
        }
        if (bytes == 0) {
            return 0;
        }
        bytes = Math.min(bytes, total - offset);
        // Every node q2 opens has a request alignment of 1 byte, so no rounding of the request happens here.
        int ret = node.driverStatus(offset, bytes, r);
        if (r.pnum > bytes) {
            r.pnum = bytes;
        }
        if ((ret & RAW) != 0) {
            ret = query(r.file, r.map, r.pnum, r);
        } else {
            if ((ret & (DATA | ZERO)) != 0) {
                ret |= ALLOCATED;
            } else if (node.supportsBacking()) {
                Node backing = node.backing();
                if (backing == null || offset >= backing.length()) {
                    ret |= ZERO;
                }
            }
            if ((ret & RECURSE) != 0 && r.file != null && r.file != node && (ret & DATA) != 0
                    && (ret & ZERO) == 0 && (ret & OFFSET_VALID) != 0) {
                long pnum = r.pnum;
                long map = r.map;
                Node file = r.file;
                Result inner = new Result();
                int ret2 = query(file, map, pnum, inner);
                if ((ret2 & EOF) != 0 && (inner.pnum == 0 || (ret2 & ZERO) != 0)) {
                    ret |= ZERO; // reading past the end of the file gives zeros
                } else {
                    r.pnum = inner.pnum;
                    ret |= ret2 & ZERO;
                }
                r.map = map;
                r.file = file;
            }
        }
        if (offset + r.pnum == total) {
            ret |= EOF;
        }
        return ret;
    }
}
