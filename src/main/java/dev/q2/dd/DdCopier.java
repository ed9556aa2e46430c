package dev.q2.dd;

import dev.q2.create.CreateException;
import dev.q2.create.CreateOptions;
import dev.q2.create.CreatePlanner;
import dev.q2.create.CreateRequest;
import dev.q2.create.Qcow2Creator;
import dev.q2.image.BlockDevice;
import dev.q2.image.Devices;
import dev.q2.image.DiskOptions;
import dev.q2.image.GuestWriter;
import dev.q2.image.Qcow2Disk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * qemu-img dd: copies the guest data of an image, from block {@code skip} on, into a new raw or qcow2 image, in
 * blocks of {@code bs} bytes, as qemu-img 7.2's img_dd does:
 *
 * <ul>
 * <li>the input's length is counted in whole 512-byte sectors, as QEMU's block layer counts it (a raw file's
 * tail reads as zeros);</li>
 * <li>{@code count} limits the input to its first {@code count * bs} bytes, counted from the start of the input and
 * not from {@code skip} (so {@code skip=2 count=4} copies two blocks);</li>
 * <li>the output is created with the format's defaults at the size left, the input size minus {@code skip * bs} (a
 * size rounded up to 512 bytes as QEMU's raw and qcow2 creation round it), replacing any file of that name;</li>
 * <li>a {@code skip} past the end of the input leaves an empty output and is reported
 * ({@link Result#skipPastEnd}), not refused;</li>
 * <li>every block is written as data, zeros included, one write per block (a qcow2 output is allocated over the
 * whole copied range, as qemu-img leaves it).</li>
 * </ul>
 */
public final class DdCopier {
    private DdCopier() {
    }

    /**
     * What to copy.
     *
     * @param input the input image
     * @param inputFormat its format ("qcow2" or "raw"), or null to probe it
     * @param output the output file (created, or replaced)
     * @param outputFormat "raw" or "qcow2"
     * @param blockSize bs, 1 to 2^31-1
     * @param count number of blocks, or -1 when not given
     * @param skip blocks of the input to skip, or -1 when not given
     * @param forceShare open the input even if another process holds it (-U)
     */
    public record Request(Path input, String inputFormat, Path output, String outputFormat, int blockSize, long count,
                          long skip, boolean forceShare) {
    }

    /** What happened: bytes copied, and whether {@code skip} pointed past the end of the input. */
    public record Result(long bytesCopied, boolean skipPastEnd) {
    }

    /** An image that could not be opened or created: which one (input or output), and why. */
    public static final class OpenFailure extends dev.q2.Q2Exception {
        private final boolean input;

        OpenFailure(boolean input, Exception cause) {
            super(Category.IO_ERROR, cause.getMessage(), cause);
            this.input = input;
        }

        /** True when the input failed to open, false for the output. */
        public boolean input() {
            return input;
        }
    }

    /** The output's size: what is left of the input (limited by count) after skip, 0 when skip is past its end. */
    static long outputSize(long inputSize, Request r) {
        long size = inputSize;
        long bs = r.blockSize();
        if (r.count() >= 0 && r.count() <= Long.MAX_VALUE / bs && r.count() * bs < size) {
            size = r.count() * bs;
        }
        if (r.skip() >= 0 && (r.skip() > Long.MAX_VALUE / bs || size < bs * r.skip())) {
            return -size - 1; // past the end: marks it, the caller creates an empty output
        }
        return size - bs * Math.max(0, r.skip());
    }

    /** Copies; see the class comment. */
    public static Result run(Request r) throws IOException {
        BlockDevice in;
        try {
            in = Devices.openRead(r.input(), r.inputFormat(), r.forceShare());
        } catch (IOException e) {
            throw new OpenFailure(true, e);
        }
        try (in) {
            // QEMU's block layer counts lengths in 512-byte sectors: a raw input of 3000000 bytes is 3000320 long,
            // the tail reading as zeros
            long size = (in.size() + 511) & ~511L;
            long bs = r.blockSize();
            long left = outputSize(size, r);
            boolean past = left < 0;
            if (past) {
                size = -left - 1;
                left = 0;
            } else if (r.count() >= 0 && r.count() <= Long.MAX_VALUE / bs && r.count() * bs < size) {
                size = r.count() * bs;
            }
            long inPos = past ? size : bs * Math.max(0, r.skip());
            if (r.outputFormat().equals("qcow2")) {
                createQcow2(r.output(), left);
                Qcow2Disk out;
                try {
                    out = Qcow2Disk.open(r.output(), DiskOptions.readWrite().withoutBacking());
                } catch (IOException e) {
                    throw new OpenFailure(false, e);
                }
                try (out) {
                    long copied = copy(in, inPos, size, bs, out::write);
                    out.flush();
                    return new Result(copied, past);
                }
            }
            java.io.RandomAccessFile raf;
            try {
                raf = new java.io.RandomAccessFile(r.output().toFile(), "rw");
                // as QEMU's raw creation: truncated to 0, then to the size rounded up to 512 bytes (a hole)
                raf.setLength(0);
                raf.setLength((left + 511) & ~511L);
            } catch (IOException e) {
                throw new OpenFailure(false, e);
            }
            try (raf; FileChannel out = raf.getChannel()) {
                long copied = copy(in, inPos, size, bs, (pos, buf) -> {
                    while (buf.hasRemaining()) {
                        pos += out.write(buf, pos);
                    }
                });
                out.force(true);
                return new Result(copied, past);
            }
        }
    }

    private static void createQcow2(Path output, long size) throws IOException {
        try {
            CreatePlanner.Plan plan = CreatePlanner.plan(new CreateRequest(output.toAbsolutePath().getParent(),
                    output.toString(), Long.toString(size), new CreateOptions(), null, null, true));
            Qcow2Creator.create(output, plan.spec());
        } catch (IOException | CreateException e) {
            throw new OpenFailure(false, e);
        }
    }

    /** Copies input bytes [from, end) to the output from its start, {@code bs} bytes at a time. */
    private static long copy(BlockDevice in, long from, long end, long bs, GuestWriter out) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(bs, Math.max(0, end - from)));
        GuestWriter.copy(in, from, end, 0, buf, out);
        return Math.max(0, end - from);
    }
}
