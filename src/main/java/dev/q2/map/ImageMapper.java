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
 */
public final class ImageMapper {
    /** qemu-img asks for at most this much per block-status call. */
    static final long CHUNK = 1L << 30;

    private final BlockGraph graph;

    private ImageMapper(BlockGraph graph) {
        this.graph = graph;
    }

    /**
     * Maps {@code [start, min(start + maxLength, length))} of the chain's top image ({@code maxLength} -1: to the
     * end). As in qemu-img, the sum is computed with 64-bit wrap-around.
     */
    public static void map(BlockGraph graph, long start, long maxLength, MapSink sink) throws IOException {
        new ImageMapper(graph).run(start, maxLength, sink);
    }

    private void run(long start, long maxLength, MapSink sink) throws IOException {
        long length = graph.length();
        if (maxLength != -1) {
            length = Math.min(start + maxLength, length);
        }
        MapEntry curr = new MapEntry();
        MapEntry next = new MapEntry();
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
                sink.entry(curr, next);
            }
            MapEntry t = curr;
            curr = next;
            next = t;
        }
        sink.entry(curr, null);
        sink.end();
    }

    /** qemu-img's get_block_status: the first image from the top that has data or zeros decides. */
    private void status(long offset, long bytes, MapEntry e) throws IOException {
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
}
