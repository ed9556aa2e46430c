package dev.q2.block;

import java.io.IOException;

/**
 * Block status as QEMU's block layer computes it ({@code bdrv_co_block_status}): a driver's answer for one node,
 * completed by the generic rules that qemu-img map's output depends on — areas a node allocates are "allocated",
 * unallocated areas of a node with no backing file (or past the end of a shorter backing file) read as zeros, a raw
 * node answers with its file's status, and a recursion into the file turns holes under preallocated clusters into
 * zeros.
 *
 * <p>The flag values are QEMU's {@code BDRV_BLOCK_*} bits, so that a set of flags can be compared as qemu-img compares
 * them; {@link BlockGraph#statusAbove} gives them for a whole chain, {@link BlockGraph#statusByLayer} as qemu-img map
 * asks for them.
 */
public final class BlockStatus {
    private BlockStatus() {
    }

    /** The range reads from the given offset of a file ({@code BDRV_BLOCK_DATA}). */
    public static final int DATA = 0x01;
    /** The range reads as zeros ({@code BDRV_BLOCK_ZERO}). */
    public static final int ZERO = 0x02;
    /** The answer names a host offset ({@code BDRV_BLOCK_OFFSET_VALID}). */
    public static final int OFFSET_VALID = 0x04;
    /** Internal: ask the file below instead ({@code BDRV_BLOCK_RAW}); never in a chain's answer. */
    static final int RAW = 0x08;
    /** Some layer holds the range itself ({@code BDRV_BLOCK_ALLOCATED}). */
    public static final int ALLOCATED = 0x10;
    /** The range runs to the end of the image ({@code BDRV_BLOCK_EOF}). */
    public static final int EOF = 0x20;
    /** Internal: look at the file for holes under data ({@code BDRV_BLOCK_RECURSE}); never in a chain's answer. */
    static final int RECURSE = 0x40;

    /**
     * The answer for a range, as QEMU's block status gives it: its flags, how many bytes from the asked offset it
     * holds for, and where it answers with {@link #OFFSET_VALID} the host offset and the file (named as the image
     * names it) that holds the bytes, and the depth in the backing chain of the layer that answered (0: the top).
     *
     * @param flags the {@code BDRV_BLOCK_*} bits above
     * @param length bytes from the asked offset the answer holds for (0 only at or past the end of the image)
     * @param offset host offset of the first byte in {@code filename} when {@link #OFFSET_VALID} is set, else 0
     * @param filename the file holding the bytes when {@link #OFFSET_VALID} is set, else null
     * @param depth the layer that answered: 0 for the top image, 1 for its backing file, and so on
     */
    public record Run(int flags, long length, long offset, String filename, int depth) {
        /** Whether the answer has {@code flag} (one of this class's constants). */
        public boolean has(int flag) {
            return (flags & flag) != 0;
        }
    }

    /** The out-parameters of a query. */
    static final class Result {
        long pnum;
        long map;
        Node file;
        /** The layer that answered a query through the chain (0: the node asked). */
        int depth;

        /** Answers "the same bytes at the same offset of {@code file}" for the whole request; returns {@code flags}. */
        int identity(Node file, long offset, long bytes, int flags) {
            this.pnum = bytes;
            this.map = offset;
            this.file = file;
            return flags;
        }

        Run toRun(int flags) {
            boolean valid = (flags & OFFSET_VALID) != 0;
            return new Run(flags, pnum, valid ? map : 0, valid && file != null ? file.filename() : null, depth);
        }
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

    /**
     * Status of {@code [offset, offset + bytes)} of the chain from {@code top} down, as QEMU's
     * {@code bdrv_block_status_above(top, NULL, ...)}: the first layer that allocates the range answers. Two quirks
     * it keeps: past the end of a backing file shorter than the layer above, the range counts as allocated zeros;
     * and EOF means the end of the top layer, except that an unallocated bottom layer's own EOF is kept.
     */
    static int queryAbove(Node top, long offset, long bytes, Result r) throws IOException {
        r.depth = 0;
        int ret = query(top, offset, bytes, r);
        if (r.pnum == 0 || (ret & ALLOCATED) != 0) {
            return ret & ~RECURSE;
        }
        long eof = (ret & EOF) != 0 ? offset + r.pnum : -1;
        bytes = r.pnum;
        int depth = 0;
        for (Node p = top.backing(); p != null; p = p.backing()) {
            depth++;
            r.depth = depth;
            ret = query(p, offset, bytes, r);
            if (r.pnum == 0) {
                // the layer above left this to a backing file that ends before it: its zeros count as allocated
                r.pnum = bytes;
                r.file = p;
                ret = ZERO | ALLOCATED;
                break;
            }
            if ((ret & ALLOCATED) != 0) {
                ret &= ~EOF; // this layer's end is not the top's
                break;
            }
            bytes = r.pnum;
        }
        if (offset + r.pnum == eof) {
            ret |= EOF;
        }
        return ret & ~RECURSE;
    }
}
