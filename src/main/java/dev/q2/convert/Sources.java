package dev.q2.convert;

import dev.q2.block.BlockGraph;
import dev.q2.block.BlockStatus;
import dev.q2.image.BlockDevice;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * What qemu-img convert reads: one source image, or several concatenated into one guest disk ({@code qemu-img
 * convert A B C T}). Each part counts as many whole 512-byte sectors as its size rounds up to (qemu-img's
 * src_sectors), so part {@code i} starts where the sectors of the parts before it end; an empty part takes no
 * room. Block status is asked of the part a position falls in, relative to that part, and never runs past its end
 * (the block layer clips a request at the image's end); the alignment that keeps status runs on cluster
 * boundaries is the part's own (its cluster size, at least one sector), counted from the part's start; a read
 * may span parts (a compressed cluster across a boundary), as qemu-img's convert_co_read does.
 *
 * <p>Not thread-safe; the parts are owned (opened and closed) by the caller.
 */
public final class Sources {
    private static final int SECTOR = 512;

    private final BlockGraph[] parts;
    /** Where each part starts in the concatenation; starts[parts.length] is the total. */
    private final long[] starts;
    private final long[] alignments;
    private final BlockDevice[] readers;

    private Sources(List<BlockGraph> graphs) throws IOException {
        int n = graphs.size();
        if (n == 0) {
            throw new IllegalArgumentException("no source image");
        }
        parts = graphs.toArray(new BlockGraph[0]);
        starts = new long[n + 1];
        alignments = new long[n];
        readers = new BlockDevice[n];
        for (int i = 0; i < n; i++) {
            readers[i] = parts[i].reader();
            alignments[i] = Math.max(SECTOR, readers[i].allocationUnit());
            starts[i + 1] = starts[i] + roundUp(readers[i].size());
        }
    }

    /**
     * The images in this order, concatenated.
     *
     * @param graphs the opened sources, at least one
     * @return the concatenation
     * @throws IOException when a source's reader cannot be opened
     */
    public static Sources of(List<BlockGraph> graphs) throws IOException {
        return new Sources(graphs);
    }

    /**
     * One image.
     *
     * @param graph the opened source
     * @return it, as a concatenation of one
     * @throws IOException when its reader cannot be opened
     */
    public static Sources of(BlockGraph graph) throws IOException {
        return new Sources(List.of(graph));
    }

    /** @return how many images */
    public int count() {
        return parts.length;
    }

    /** @return the image when there is only one, else null */
    public BlockGraph single() {
        return parts.length == 1 ? parts[0] : null;
    }

    /** @return the first image (the one whose bitmaps or snapshot qemu-img uses) */
    public BlockGraph first() {
        return parts[0];
    }

    /** @return the size of the concatenation: the sum of the parts' sizes, each rounded up to whole sectors */
    public long size() {
        return starts[parts.length];
    }

    /** The part {@code pos} falls in (qemu-img's convert_select_part); {@code pos} must be below {@link #size()}. */
    private int partAt(long pos) {
        int i = 0;
        while (pos >= starts[i + 1]) {
            i++;
        }
        return i;
    }

    /** Where the part {@code pos} falls in ends (its sectors' end). */
    long partEnd(long pos) {
        return starts[partAt(pos) + 1];
    }

    /**
     * The block status at {@code pos} for at most {@code n} bytes, of the part's top layer only when
     * {@code topOnly} (a target with a backing file), else through its whole chain; the run ends within the part.
     * The partial sector past the end of a raw part whose size is not a whole number of sectors reads as zeros.
     *
     * @throws dev.q2.image.CorruptMetadataException where QEMU finds the metadata corrupt
     */
    BlockStatus.Run status(long pos, long n, boolean topOnly) throws IOException {
        int i = partAt(pos);
        long rel = pos - starts[i];
        long len = Math.min(n, Math.max(0, readers[i].size() - rel));
        if (len <= 0) {
            return null;
        }
        return topOnly ? parts[i].topStatus(rel, len) : parts[i].statusAbove(rel, len);
    }

    /**
     * How many bytes to take off a status run of {@code count} bytes from {@code pos} so that it ends on its part's
     * alignment (qemu-img's tail; the caller keeps the run when it is no longer than that).
     */
    long tail(long pos, long count) {
        int i = partAt(pos);
        return (pos - starts[i] + count) % alignments[i];
    }

    /**
     * Fills {@code dst} (position to limit) from {@code pos}, across parts where it spans them; what lies past the
     * end of a part's bytes (its last partial sector) reads as zeros.
     */
    void read(long pos, ByteBuffer dst) throws IOException {
        int limit = dst.limit();
        while (dst.position() < limit) {
            int i = partAt(pos);
            long rel = pos - starts[i];
            int n = (int) Math.min(limit - dst.position(), starts[i + 1] - pos);
            ByteBuffer slice = dst.slice(dst.position(), n);
            readers[i].read(rel, slice);
            dst.position(dst.position() + n);
            pos += n;
        }
    }

    private static long roundUp(long n) {
        return (n + SECTOR - 1) / SECTOR * SECTOR;
    }
}
