package dev.q2.chain;

import dev.q2.block.BlockGraph;
import dev.q2.block.BlockStatus;
import dev.q2.block.OpenErrors;
import dev.q2.format.ChildNames;
import dev.q2.image.BlockDevice;
import dev.q2.image.DiskOptions;
import dev.q2.image.HeaderUpdate;
import dev.q2.io.ImageFile;
import dev.q2.io.QemuLock;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * qemu-img rebase: points an image at another backing file (or none). In safe mode every range the image leaves to
 * its backing chain and where the old and new backing chains read differently is first copied into the image, so
 * its guest data stays the same; unsafe mode ({@link Request#unsafe}) only rewrites the header.
 *
 * <p>The copy is qemu-img 7.2's, so the resulting file is byte for byte qemu-img's: the image is walked in runs of
 * at most 2 MiB of the same allocation state in the image itself (block status of the top layer); runs it allocates
 * are skipped; for the others the old chain and the new backing file are read (as zeros past their ends, the run cut
 * at the end of each), compared in 512-byte sectors, and each run of differing sectors is written into the image
 * (as a zero write where the old chain has ended). Then the header is rewritten with the new name, as given, and its
 * format extension.
 */
public final class Rebase {
    /** qemu-img's IO_BUF_SIZE: the most bytes one step compares. */
    static final int IO_BUF_SIZE = 2 << 20;
    private static final int SECTOR = 512;

    private Rebase() {
    }

    /**
     * What to rebase.
     *
     * @param workDir folder relative names are resolved against
     * @param filename the image, as the user named it
     * @param format its format, or null to probe
     * @param backing the new backing file as it will be stored (relative names are relative to the image's folder),
     *     "" for none; null only in unsafe mode (removes the backing file)
     * @param backingFormat the new backing file's format (stored in the header), or null
     * @param unsafe only rewrite the header (-u)
     * @param forceShare open the new backing file without locks (-U)
     * @param durable flush the image to stable storage (every cache mode but unsafe)
     */
    public record Request(Path workDir, String filename, String format, String backing, String backingFormat,
                          boolean unsafe, boolean forceShare, boolean durable) {
    }

    /** Progress as qemu-img reports it: a share of 100 for each step compared. */
    public interface Listener {
        void stepDone(float percent);
    }

    /**
     * Rebases as qemu-img rebase does.
     *
     * @param diagnostics where warnings go (QEMU's stderr)
     * @throws ChainException with qemu-img's message; the image's guest data is unchanged in every case
     */
    public static void rebase(Request r, Listener listener, PrintWriter diagnostics) throws IOException {
        DiskOptions opt = DiskOptions.readWrite().withDurable(r.durable());
        if (r.unsafe()) {
            opt = opt.withoutBacking(); // an unsafe rebase may repair the name of a backing file that moved
        }
        String fmt = r.backingFormat();
        try (TopImage top = TopImage.open(r.workDir(), r.filename(), r.format(), opt, diagnostics)) {
            if (fmt != null && !Formats.KNOWN.contains(fmt)) {
                throw new ChainException("Invalid format name: '" + fmt + "'");
            }
            if (!r.unsafe()) {
                copyDifferences(r, top, listener);
            }
        }
        changeBackingFile(r);
    }

    private static void copyDifferences(Request r, TopImage top, Listener listener) throws IOException {
        BlockDevice oldBacking = top.isRaw() ? null : top.disk.backing();
        BlockGraph newGraph = null;
        BlockGraph status = null;
        try {
            BlockDevice newBacking = null;
            if (!r.backing().isEmpty()) {
                // relative to the image's folder, as the header will name it (bdrv_get_full_backing_filename)
                String real = ChildNames.backing(r.filename(), r.backing());
                try {
                    newGraph = BlockGraph.open(r.workDir(), real, r.backingFormat(), r.forceShare());
                    newBacking = newGraph.reader();
                } catch (IOException e) {
                    throw new ChainException("Could not open new backing file '" + r.backing() + "': "
                            + OpenErrors.reason(e), e);
                }
            }
            long size = top.length();
            long oldSize = oldBacking == null ? 0 : Formats.sectors(oldBacking.size());
            long newSize = newBacking == null ? 0 : Formats.sectors(newBacking.size());
            if (top.isRaw()) {
                return; // a raw image allocates everything: nothing to copy (the header change then fails)
            }
            status = BlockGraph.open(r.workDir(), r.filename(), "qcow2", true); // the disk holds the locks
            float step = size == 0 ? 0 : 100f / (size / Math.min(size, IO_BUF_SIZE));
            byte[] bufOld = new byte[IO_BUF_SIZE];
            byte[] bufNew = new byte[IO_BUF_SIZE];
            long n;
            for (long offset = 0; offset < size; offset += n) {
                n = Math.min(IO_BUF_SIZE, size - offset);
                BlockStatus.Run run;
                try {
                    run = status.topStatus(offset, n);
                } catch (IOException e) {
                    throw new ChainException("error while reading image metadata: " + OpenErrors.reason(e), e);
                }
                n = run.length();
                if (run.has(BlockStatus.ALLOCATED)) {
                    continue;
                }
                boolean oldIsZero = false;
                if (offset >= oldSize) {
                    Arrays.fill(bufOld, 0, (int) n, (byte) 0);
                    oldIsZero = true;
                } else {
                    n = readBacking(oldBacking, oldSize, offset, n, bufOld, "old");
                }
                if (newBacking == null || offset >= newSize) {
                    Arrays.fill(bufNew, 0, (int) n, (byte) 0);
                } else {
                    n = readBacking(newBacking, newSize, offset, n, bufNew, "new");
                }
                int written = 0;
                while (written < n) {
                    int len = differingRun(bufOld, bufNew, written, (int) n);
                    boolean differ = len > 0;
                    len = Math.abs(len);
                    if (differ) {
                        try {
                            if (oldIsZero) {
                                top.disk.writeZeroes(offset + written, len, false);
                            } else {
                                top.disk.write(offset + written, ByteBuffer.wrap(bufOld, written, len));
                            }
                        } catch (IOException e) {
                            throw new ChainException("Error while writing to COW image: " + OpenErrors.reason(e), e);
                        }
                    }
                    written += len;
                }
                listener.stepDone(step);
            }
            top.disk.flush();
        } finally {
            if (status != null) {
                status.close();
            }
            if (newGraph != null) {
                newGraph.close();
            }
        }
    }

    /**
     * qemu-img's compare_buffers from {@code from} to {@code end}: the run of 512-byte sectors (the last may be
     * shorter) that all differ, or all match, as the first one does; positive when they differ, negative when they
     * match.
     */
    static int differingRun(byte[] a, byte[] b, int from, int end) {
        int first = Math.min(end - from, SECTOR);
        boolean differ = !Arrays.equals(a, from, from + first, b, from, from + first);
        int i = from + first;
        while (i < end) {
            int len = Math.min(end - i, SECTOR);
            if (!Arrays.equals(a, i, i + len, b, i, i + len) != differ) {
                break;
            }
            i += len;
        }
        return differ ? i - from : -(i - from);
    }

    /**
     * Reads {@code n} bytes of a backing file at {@code offset} into {@code buf}, at most up to its {@code size};
     * returns how many were read.
     */
    private static long readBacking(BlockDevice backing, long size, long offset, long n, byte[] buf, String which)
            throws ChainException {
        long len = Math.min(n, size - offset);
        try {
            backing.read(offset, ByteBuffer.wrap(buf, 0, (int) len));
        } catch (IOException e) {
            throw new ChainException("error while reading from " + which + " backing file", e);
        }
        return len;
    }

    /** bdrv_change_backing_file, with qemu-img rebase's messages. */
    private static void changeBackingFile(Request r) throws IOException {
        String name = r.backing() == null || r.backing().isEmpty() ? null : r.backing();
        String fmt = name == null ? null : r.backingFormat();
        String shown = r.backing() == null ? "(null)" : r.backing();
        if (name != null && fmt == null) {
            throw new ChainException("Could not change the backing file to '" + shown
                    + "': backing format must be specified").atHeaderStep();
        }
        Path path = r.workDir().resolve(r.filename());
        String format = r.format() != null ? r.format() : dev.q2.image.Devices.probe(path);
        if (!format.equals("qcow2")) {
            throw new ChainException("Could not change the backing file to '" + shown + "': Operation not supported").atHeaderStep();
        }
        try (ImageFile f = ImageFile.openReadWrite(path);
             QemuLock lock = QemuLock.acquire(f.channel(), path, QemuLock.PERM_CONSISTENT_READ | QemuLock.PERM_WRITE
                     | QemuLock.PERM_RESIZE, QemuLock.PERM_CONSISTENT_READ | QemuLock.PERM_WRITE_UNCHANGED)) {
            HeaderUpdate.changeBackingFile(f, name, fmt);
            if (r.durable()) {
                f.flush();
            }
        } catch (HeaderUpdate.RefusedException e) {
            throw new ChainException("Could not change the backing file to '" + shown + "': "
                    + (e.noSpace() ? "No space left in the file header" : e.errno()), e).atHeaderStep();
        }
    }
}
