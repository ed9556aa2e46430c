package dev.q2.map;

import dev.q2.block.BlockGraph;
import dev.q2.block.BlockStatus;
import dev.q2.image.CorruptMetadataException;

import java.io.IOException;

/**
 * Walks an image's guest range the way qemu-img map does: it asks the {@link BlockGraph} for the block status of
 * the rest of the range (at most 1 GiB at a time), layer by layer down the backing chain until some image has data
 * or zeros there, and merges each answer into the current extent when qemu-img would. Extents go to a
 * {@link MapSink} as soon as they are complete, so memory does not grow with the number of extents.
 *
 * <p>Not thread-safe: one map at a time per graph.
 */
public final class ImageMapper {
    /** qemu-img asks for at most this much per block-status call. */
    static final long CHUNK = 1L << 30;

    /** How extents merge: qemu-img map merges differently for its two outputs. */
    public enum Merging {
        /** As {@code --output=json}: extents of the same kind, contiguous in the same file, merge. */
        JSON,
        /**
         * As the human output: in addition, once an extent has been reported, an extent after it that shows no data
         * (zero, preallocated-zero or unallocated) is reported as zero without data, so such extents merge with each
         * other (qemu-img's human printer rewrites the next extent so).
         */
        HUMAN
    }

    private final BlockGraph graph;
    private final boolean human;

    private ImageMapper(BlockGraph graph, Merging merging) {
        this.graph = graph;
        this.human = merging == Merging.HUMAN;
    }

    /**
     * Maps {@code [start, min(start + maxLength, length))} of the chain's top image ({@code maxLength} -1: to the
     * end) with JSON merging. As in qemu-img, the sum is computed with 64-bit wrap-around.
     *
     * @param graph the opened chain
     * @param start the first guest offset
     * @param maxLength the most bytes to map, or -1
     * @param sink receives the extents
     * @throws MapException when the chain's metadata cannot be read (qemu-img's message)
     * @throws IOException when a file cannot be read or the sink fails
     */
    public static void map(BlockGraph graph, long start, long maxLength, MapSink sink) throws IOException {
        map(graph, start, maxLength, Merging.JSON, sink);
    }

    /**
     * Maps as {@link #map(BlockGraph, long, long, MapSink)}, merging extents as {@code merging} says.
     *
     * @param graph the opened chain
     * @param start the first guest offset
     * @param maxLength the most bytes to map, or -1
     * @param merging which of qemu-img map's outputs the extents are for
     * @param sink receives the extents
     * @throws MapException when the chain's metadata cannot be read (qemu-img's message)
     * @throws IOException when a file cannot be read or the sink fails
     */
    public static void map(BlockGraph graph, long start, long maxLength, Merging merging, MapSink sink)
            throws IOException {
        new ImageMapper(graph, merging).run(start, maxLength, sink);
    }

    private void run(long start, long maxLength, MapSink sink) throws IOException {
        long length = graph.length();
        if (maxLength != -1) {
            length = Math.min(start + maxLength, length);
        }
        Extent curr = new Extent();
        Extent next = new Extent();
        curr.start = start;
        sink.begin();
        while (curr.start + curr.length < length) {
            long offset = curr.start + curr.length;
            long n = Math.min(CHUNK, length - offset);
            status(offset, n, next);
            if (curr.mergeable(next)) {
                curr.length += next.length;
                continue;
            }
            if (curr.length > 0) {
                sink.entry(curr.toEntry(), false);
                if (human && (!next.data || next.zero)) {
                    next.data = false;
                    next.zero = true;
                }
            }
            Extent t = curr;
            curr = next;
            next = t;
        }
        sink.entry(curr.toEntry(), true);
        sink.end();
    }

    /** qemu-img's get_block_status: the first image from the top that has data or zeros decides. */
    private void status(long offset, long bytes, Extent e) throws IOException {
        BlockStatus.Run run;
        try {
            run = graph.statusByLayer(offset, bytes);
        } catch (CorruptMetadataException ex) {
            throw new MapException("Could not read file metadata: Input/output error", ex);
        }
        e.start = offset;
        e.length = run.length();
        e.data = run.has(BlockStatus.DATA);
        e.zero = run.has(BlockStatus.ZERO);
        e.hasOffset = run.has(BlockStatus.OFFSET_VALID);
        e.offset = run.offset();
        e.depth = run.depth();
        e.present = run.has(BlockStatus.ALLOCATED);
        e.filename = run.filename();
    }

    /** The extent being grown while runs merge into it (two are reused for the whole walk). */
    private static final class Extent {
        long start;
        long length;
        int depth;
        boolean present;
        boolean zero;
        boolean data;
        boolean hasOffset;
        long offset;
        String filename;

        MapEntry toEntry() {
            return new MapEntry(start, length, depth, present, zero, data, hasOffset, offset, filename);
        }

        /** Whether {@code next} continues this extent (qemu-img's rule: same kind, and contiguous in the file). */
        boolean mergeable(Extent next) {
            if (length == 0) {
                return false;
            }
            if (zero != next.zero || data != next.data || depth != next.depth || present != next.present
                    || (filename == null) != (next.filename == null) || hasOffset != next.hasOffset) {
                return false;
            }
            if (filename != null && !filename.equals(next.filename)) {
                return false;
            }
            return !hasOffset || offset + length == next.offset;
        }
    }
}
