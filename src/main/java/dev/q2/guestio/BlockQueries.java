package dev.q2.guestio;

import dev.q2.format.QcowHeader;
import dev.q2.info.ImageInfo;
import dev.q2.info.ImageInfoCollector;
import dev.q2.block.BlockStatus;
import dev.q2.block.BlockGraph;
import dev.q2.util.QDict;
import dev.q2.util.QJson;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;

/**
 * qemu-io's {@code map}, {@code alloc} and {@code info}: what the open image itself allocates (QEMU's
 * {@code bdrv_is_allocated}, the top image alone: data and zero clusters count, what the backing file provides does
 * not) and the driver's information. They read the image file as the engine left it after a flush, through the
 * block-status reader that q2 map shares.
 *
 * @param workDir the folder relative names are opened in
 * @param filename the open image, as named to {@code open}
 * @param format its format
 */
record BlockQueries(Path workDir, String filename, String format) {
    /** qemu-io's limit on one alloc query (INT_MAX sectors). */
    private static final long ALLOC_MAX = (long) Integer.MAX_VALUE * 512;
    /** qemu-io's map asks at most BDRV_REQUEST_MAX_BYTES at a time. */
    private static final long MAP_CHUNK = 2147483136L;

    private BlockGraph open() throws IOException {
        // q2 io holds the image open (and locked): this second, read-only view takes no locks of its own
        return BlockGraph.open(workDir, filename, format, true);
    }

    /** One run of what the top image allocates, at least 1 byte (0 only at the end of the image). */
    private static BlockStatus.Run allocated(BlockGraph chain, long offset, long bytes) throws IOException {
        return chain.topStatus(offset, bytes);
    }

    /** {@code map}: the runs of allocated and unallocated bytes, consecutive runs of one kind merged. */
    void map(PrintWriter out, PrintWriter err) throws IOException {
        try (BlockGraph chain = open()) {
            long offset = 0;
            long bytes = chain.length();
            while (bytes > 0) {
                BlockStatus.Run first = allocated(chain, offset, Math.min(bytes, MAP_CHUNK));
                boolean alloc = first.has(BlockStatus.ALLOCATED);
                long num = first.length();
                if (num == 0) {
                    err.println("q2: Unexpected end of image");
                    return;
                }
                long pos = offset + num;
                long left = bytes - num;
                while (left > 0) {
                    BlockStatus.Run next = allocated(chain, pos, Math.min(left, MAP_CHUNK));
                    if (next.has(BlockStatus.ALLOCATED) != alloc || next.length() == 0) {
                        break;
                    }
                    num += next.length();
                    pos += next.length();
                    left -= next.length();
                }
                out.printf("%s (0x%x) bytes %s at offset %s (0x%x)%n", IoOutput.size(num), num,
                        alloc ? "    allocated" : "not allocated", IoOutput.size(offset), offset);
                offset += num;
                bytes -= num;
            }
        }
    }

    /**
     * {@code alloc OFFSET [COUNT]}: how many of COUNT bytes (512 by default) from OFFSET the image allocates; a
     * range past the end counts only up to the end.
     */
    void alloc(PrintWriter out, long start, long count) throws IOException {
        try (BlockGraph chain = open()) {
            long offset = start;
            long remaining = count;
            long sum = 0;
            while (remaining > 0) {
                BlockStatus.Run r = allocated(chain, offset, remaining);
                long num = r.length();
                if (num == 0) {
                    count -= remaining;
                    break;
                }
                if (r.has(BlockStatus.ALLOCATED)) {
                    sum += num;
                }
                offset += num;
                remaining -= num;
            }
            out.printf("%d/%d bytes allocated at offset %s%n", sum, count, IoOutput.size(start));
        }
    }

    static long allocMax() {
        return ALLOC_MAX;
    }

    /**
     * {@code info}: the format, cluster size and VM state offset (the first byte past what the L1 table needs for
     * the virtual size), then the driver's format-specific lines as qemu-img info prints them.
     */
    void info(PrintWriter out, QcowHeader header) throws IOException {
        if (header == null) {
            // the raw format's driver info is all zeros, and it has no format-specific information
            out.println("format name: " + format);
            out.println("cluster size: 0 bytes");
            out.println("vm state offset: 0 bytes");
            return;
        }
        ImageInfo info = ImageInfoCollector.collect(workDir, filename, "qcow2", true);
        out.println("format name: qcow2");
        long shift = header.clusterBits() + header.l2Bits();
        long size = header.size();
        long vmStateIndex = (size + (1L << shift) - 1) >>> shift;
        out.println("cluster size: " + IoOutput.size(header.clusterSize()));
        out.println("vm state offset: " + IoOutput.size(vmStateIndex << shift));
        if (info.qapi().get("format-specific") instanceof QDict spec) {
            StringBuilder sb = new StringBuilder();
            QJson.dumpHuman(sb, spec.get("data"), 1);
            out.println("Format specific information:");
            out.print(sb);
        }
    }
}
