package dev.q2.map;

import dev.q2.image.CorruptMetadataException;

import java.io.IOException;

/**
 * Walks an image's guest range the way qemu-img map does: it asks for the block status of the rest of the range (at
 * most 1 GiB at a time), looks down the backing chain until some image has data or zeros there, and merges each
 * answer into the current extent when qemu-img would. Extents go to a {@link MapSink} as soon as they are complete,
 * so memory does not grow with the number of extents.
 */
public final class ImageMapper {
    /** qemu-img asks for at most this much per block-status call. */
    static final long CHUNK = 1L << 30;

    private final Node top;
    private final BlockStatus.Result result = new BlockStatus.Result();

    private ImageMapper(Node top) {
        this.top = top;
    }

    /**
     * Maps {@code [start, min(start + maxLength, length))} of the chain's top image ({@code maxLength} -1: to the
     * end). As in qemu-img, the sum is computed with 64-bit wrap-around.
     */
    public static void map(ChainReader chain, long start, long maxLength, MapSink sink) throws IOException {
        new ImageMapper(chain.top()).run(start, maxLength, sink);
    }

    private void run(long start, long maxLength, MapSink sink) throws IOException {
        long length = top.length();
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
        Node bs = top;
        int depth = 0;
        int ret;
        BlockStatus.Result r = result;
        for (;;) {
            try {
                ret = BlockStatus.query(bs, offset, bytes, r);
            } catch (CorruptMetadataException ex) {
                throw new MapException("Could not read file metadata: Input/output error", ex);
            }
            if (r.pnum == 0) {
                throw new IllegalStateException("block status made no progress at offset " + offset);
            }
            bytes = r.pnum;
            if ((ret & (BlockStatus.ZERO | BlockStatus.DATA)) != 0) {
                break;
            }
            bs = bs.backing();
            if (bs == null) {
                ret = 0;
                break;
            }
            depth++;
        }
        e.start = offset;
        e.length = bytes;
        e.data = (ret & BlockStatus.DATA) != 0;
        e.zero = (ret & BlockStatus.ZERO) != 0;
        e.hasOffset = (ret & BlockStatus.OFFSET_VALID) != 0;
        e.offset = r.map;
        e.depth = depth;
        e.present = (ret & BlockStatus.ALLOCATED) != 0;
        e.filename = r.file != null && e.hasOffset ? r.file.filename() : null;
    }
}
