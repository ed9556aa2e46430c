package dev.q2.block;

import java.io.Closeable;
import java.io.IOException;

/**
 * One node of an open block graph, the way QEMU's block layer sees an image: a protocol node (a file), a raw format
 * node over a file, or a qcow2 node over its file, its data file and its backing node. {@link BlockStatus} runs the
 * generic part of a block-status query; a node only answers for itself.
 */
abstract class Node implements Closeable {
    private final String filename;

    Node(String filename) {
        this.filename = filename;
    }

    /** The name QEMU shows for this node (as opened: relative names stay relative). */
    final String filename() {
        return filename;
    }

    /** The length the block layer uses: whole 512-byte sectors ({@code bdrv_getlength}). */
    abstract long length();

    /**
     * The driver's own answer for {@code [offset, offset + bytes)} (bytes ≥ 1, inside {@link #length()}): returns
     * {@link BlockStatus} flags and sets {@code s.pnum} (how far the answer holds, ≥ 1), and {@code s.map} and
     * {@code s.file} when the result has {@link BlockStatus#OFFSET_VALID}.
     */
    abstract int driverStatus(long offset, long bytes, BlockStatus.Result s) throws IOException;

    /** Whether the node's format can have a backing file (so unallocated areas read from below, or as zeros). */
    boolean supportsBacking() {
        return false;
    }

    /** The backing node, or null. */
    Node backing() {
        return null;
    }

    static long sectorsRoundedUp(long bytes) {
        return (bytes + 511) & ~511L;
    }
}
