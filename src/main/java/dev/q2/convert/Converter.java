package dev.q2.convert;

import dev.q2.block.BlockGraph;
import dev.q2.block.BlockStatus;
import dev.q2.create.CreateSpec;
import dev.q2.create.Qcow2Creator;
import dev.q2.image.BlockDevice;
import dev.q2.image.DiskOptions;
import dev.q2.image.EngineTarget;
import dev.q2.image.GuestWriter;
import dev.q2.image.CorruptMetadataException;
import dev.q2.image.ImageException;
import dev.q2.image.Qcow2Disk;
import dev.q2.io.ImageFile;
import dev.q2.io.QemuLock;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.DoubleConsumer;

/**
 * qemu-img convert for raw and qcow2 targets: copies what the source says is data, never writes what reads as
 * zeros into a new target without a backing file (so it stays sparse), and with {@code compress} writes each data
 * cluster compressed.
 *
 * <p>Into a qcow2 target, into an existing raw target (-n), and into a new raw file when a sparse size is given, the
 * copy follows qemu-img's steps so that the same clusters (the same blocks of a raw file) end up allocated: the
 * source's block status is taken run by run (with a backing file for the target, of the source's top layer only:
 * what the source leaves to its backing file is left to the target's); data runs are read in chunks of at most
 * 2 MiB and split into data and zero parts at 512-byte granularity, ignoring zero parts shorter than the sparse
 * size and aligning the ends of data parts to it (qemu-img's {@code -S}, 4k by default; {@code -S 0} writes every
 * sector as data); zero parts are skipped in a new target that reads as zeros and written
 * as zeros otherwise (a backing file, or {@code -n}; into a raw file that is a punched hole). Zeros past the end of
 * the target's backing file are skipped.
 *
 * <p>Over 600 lines, not yet split: the three targets (new raw, existing raw or device, qcow2) share the copy loop
 * and its sparse rules; the next cut is one class per target around {@code Copy} (issue 12's leftovers).
 */
public final class Converter {
    /** Bytes read and written per step; large enough to keep system calls few. */
    private static final int CHUNK = 2 << 20;
    /** Data steps read ahead of the writes into a qcow2 target (buffers of CHUNK bytes each). */
    private static final int READ_AHEAD_BUFFERS = 4;
    private static final int SECTOR = 512;
    /** qemu-img's default sparse size (-S 4k), in sectors. */
    public static final int DEFAULT_MIN_SPARSE = 8;
    /** The largest sparse size qemu-img accepts (-S 16M, its MAX_BUF_SECTORS), in sectors. */
    public static final int MAX_MIN_SPARSE = 32768;
    /** The largest block-status request qemu-img makes (BDRV_REQUEST_MAX_SECTORS). */
    private static final long MAX_REQUEST = (Integer.MAX_VALUE >> 9) * (long) SECTOR;

    private Converter() {
    }

    /**
     * How to copy into a qcow2 target.
     *
     * @param compress write data clusters compressed
     * @param targetHasBacking copy only the source's top layer (-B / backing_file)
     * @param targetIsZero the target reads as zeros before the copy, so zero runs need no writes
     * @param minSparse qemu-img's -S in 512-byte sectors: zero runs inside data shorter than this are written as
     *     data; 0 writes everything as data, zeros included, so the target ends up fully allocated
     * @param durable fsync the target before returning (any -t cache mode but unsafe)
     */
    public record Settings(boolean compress, boolean targetHasBacking, boolean targetIsZero, int minSparse,
                           boolean durable) {
        public Settings {
            if (minSparse < 0 || minSparse > MAX_MIN_SPARSE) {
                throw new IllegalArgumentException("sparse size out of range: " + minSparse);
            }
        }

        /** qemu-img convert's defaults: -S 4k, -t unsafe. */
        public Settings(boolean compress, boolean targetHasBacking, boolean targetIsZero) {
            this(compress, targetHasBacking, targetIsZero, DEFAULT_MIN_SPARSE, false);
        }

        /**
         * The alignment qemu-img gives the ends of data writes, in sectors: the sparse size rounded down to a power
         * of two, at least one sector (the request alignment of q2's targets, which use no O_DIRECT).
         */
        int alignment() {
            return minSparse == 0 ? 1 : Integer.highestOneBit(minSparse);
        }
    }

    /**
     * Progress nobody watches: conversions given it skip qemu-img's first pass, which only sizes the progress. Any
     * other listener gets qemu-img's percentages: after each data step (and zero step with -S 0) the share of such
     * steps done, computed before the step is written (the caller draws the 0 before and the 100 after).
     */
    public static final DoubleConsumer NO_PROGRESS = new DoubleConsumer() { // not a lambda: start-up
        @Override
        public void accept(double percent) {
        }
    };

    /** Copies {@code src} into a new raw file with qemu-img convert's defaults (-t unsafe), the fast way. */
    public static void toRaw(BlockGraph src, Path dst, DoubleConsumer progress) throws IOException {
        toRaw(src, dst, false, progress);
    }

    /**
     * Copies {@code src} into a new raw file, the fast way: runs of data clusters that lie back to back in a qcow2
     * source's file are copied by the kernel (copy_file_range or sendfile) without a look at their bytes, so zero
     * blocks inside them are written where qemu-img leaves holes; elsewhere 4 KiB blocks of zeros are skipped. The
     * bytes are qemu-img's; for qemu-img's exact allocation use {@link #toRaw(BlockGraph, Path, Settings,
     * DoubleConsumer)}.
     *
     * @param durable fsync the file before returning
     */
    public static void toRaw(BlockGraph src, Path dst, boolean durable, DoubleConsumer progress)
            throws IOException {
        intoNewRaw(src.reader().size(), dst, durable, new RawCopy() { // not a lambda: see DiskState's constructor
            @Override
            public void copy(ImageFile out) throws IOException {
                copyRaw(src, out, progress);
            }
        });
    }

    /**
     * Copies {@code src} into a new raw file with qemu-img's steps (as into qcow2), so that the same blocks end up
     * allocated as with qemu-img convert -S: a new file reads as zeros, so zeros are skipped (left as holes); only
     * {@code minSparse} and {@code durable} of the settings apply.
     */
    public static void toRaw(BlockGraph src, Path dst, Settings settings, DoubleConsumer progress)
            throws IOException {
        toRaw(Sources.of(src), dst, settings, progress);
    }

    /**
     * {@link #toRaw(BlockGraph, Path, Settings, DoubleConsumer)} from one or several (concatenated) sources: the
     * new file's size is the concatenation's.
     */
    public static void toRaw(Sources src, Path dst, Settings settings, DoubleConsumer progress)
            throws IOException {
        Settings steps = new Settings(false, false, true, settings.minSparse(), false);
        long total = src.size();
        intoNewRaw(total, dst, settings.durable(), new RawCopy() { // not a lambda: see DiskState's constructor
            @Override
            public void copy(ImageFile out) throws IOException {
                NewRawFile file = new NewRawFile(out);
                new Copy(src, file, file, null, steps, total, -1, progress).run();
            }
        });
    }

    /** A new raw file as the copy's target: data written as it is; it reads as zeros, so zeros need no writes. */
    private static final class NewRawFile implements GuestWriter, GuestWriter.Zeroes {
        private final ImageFile file;

        NewRawFile(ImageFile file) {
            this.file = file;
        }

        @Override
        public void write(long offset, ByteBuffer data) throws IOException {
            file.writeFully(offset, data);
        }

        @Override
        public void writeZeroes(long offset, long length) {
            throw new IllegalStateException("a new raw file needs no zero writes");
        }
    }

    /** How a new raw file gets its data. */
    @FunctionalInterface
    private interface RawCopy {
        void copy(ImageFile out) throws IOException;
    }

    /** Creates the raw file, holds it as qemu-img's writer does, fills it, and fsyncs it when {@code durable}. */
    private static void intoNewRaw(long size, Path dst, boolean durable, RawCopy body) throws IOException {
        createRaw(dst, size);
        try (ImageFile out = ImageFile.openReadWrite(dst);
             QemuLock lock = QemuLock.acquire(out.channel(), dst, QemuLock.PERM_CONSISTENT_READ
                     | QemuLock.PERM_WRITE | QemuLock.PERM_RESIZE, QemuLock.PERM_CONSISTENT_READ
                     | QemuLock.PERM_WRITE_UNCHANGED)) {
            body.copy(out);
            // qemu-img convert writes its target with cache=unsafe by default: no fsync then
            if (durable) {
                out.flush();
            }
        }
    }

    /**
     * Creates the raw file as qemu-img's create step does: whole sectors long, with its first block written (QEMU's
     * file driver writes zeros there, 512 bytes into a file under 4 KiB, 4 KiB otherwise, so that it can probe the
     * alignment later), so that block is allocated whatever the copy writes.
     */
    public static void createRaw(Path dst, long size) throws IOException {
        Files.deleteIfExists(dst);
        Files.createFile(dst);
        try (ImageFile out = ImageFile.openReadWrite(dst)) {
            dev.q2.create.RawCreator.format(out, size, dev.q2.create.Preallocation.OFF);
        } catch (dev.q2.create.CreateException e) {
            throw new ConvertException(e.getMessage());
        }
    }

    /**
     * Copies {@code src} into the existing raw file or device {@code dst} (qemu-img convert -n into raw), which
     * must have at least as many 512-byte sectors as the source. Only what the source covers is written: data where
     * the source has data, zeros (punched holes) where it reads as zeros, unless {@code targetIsZero}; with
     * {@code targetHasBacking} only the source's top layer, leaving what it leaves to its backing file untouched.
     * What lies past the source's end keeps its bytes; a write into the last partial sector of a smaller file grows
     * it to whole sectors, as QEMU's does.
     */
    public static void intoRaw(Sources src, RawTarget dst, Settings settings, DoubleConsumer progress)
            throws IOException {
        if (settings.compress()) {
            throw new ConvertException("Compression not supported for this file format");
        }
        long total = src.size();
        if (roundUp(dst.size()) < total) {
            throw new ConvertException("output file is smaller than input file");
        }
        new Copy(src, dst, dst, null, settings, total, -1, progress).run();
        if (settings.durable()) {
            dst.flush();
        }
    }

    /** Copies {@code src} into a new qcow2 image created from {@code spec} (whose size must be the source's). */
    public static void toQcow2(BlockGraph src, Path dst, CreateSpec spec, boolean compress,
                               DoubleConsumer progress) throws IOException {
        Path workDir = Path.of("").toAbsolutePath();
        Qcow2Creator.create(dst, spec, workDir);
        boolean backed = spec.backingFile() != null;
        into(Sources.of(src), dst, new Settings(compress, backed, !backed), true, workDir, progress, null);
    }

    /**
     * Copies {@code src} into the qcow2 image at {@code dst}, which exists and is at least as large (qemu-img
     * convert -n, or the second step of {@link #toQcow2}). The target's backing chain is opened: copy-on-write
     * and the zero checks of partial zero writes read it.
     *
     * @param targetIsNew the target was just created (so zeros past its backing file's end need no writes)
     */
    public static void into(BlockGraph src, Path dst, Settings settings, boolean targetIsNew,
                            DoubleConsumer progress) throws IOException {
        into(Sources.of(src), dst, settings, targetIsNew, null, progress, null);
    }

    /** What runs on the qcow2 target after the copy, before it is closed (convert --bitmaps). */
    public interface BeforeClose {
        void run(Qcow2Disk target) throws IOException;
    }

    /**
     * {@link #into(BlockGraph, Path, Settings, boolean, DoubleConsumer)} with the target's data file (if it has one
     * named relatively) in {@code workDir} (null: the process's working folder), then {@code beforeClose} (may be
     * null) on the open target.
     */
    public static void into(Sources src, Path dst, Settings settings, boolean targetIsNew, Path workDir,
                            DoubleConsumer progress, BeforeClose beforeClose) throws IOException {
        into(src, dst, settings, targetIsNew, workDir, progress, beforeClose, null);
    }

    /**
     * As {@link #into(Sources, Path, Settings, boolean, Path, DoubleConsumer, BeforeClose)}, with the key secret
     * of an encrypted target ({@code keys}; null for none).
     */
    public static void into(Sources src, Path dst, Settings settings, boolean targetIsNew, Path workDir,
                            DoubleConsumer progress, BeforeClose beforeClose, dev.q2.crypto.ImageKeys keys)
            throws IOException {
        DiskOptions opt = DiskOptions.readWrite().withDurable(settings.durable()).withWorkDir(workDir).withKeys(keys);
        try (Qcow2Disk out = Qcow2Disk.open(dst, opt)) {
            long total = src.size();
            if (out.size() < total) {
                throw new ConvertException("output file is smaller than input file");
            }
            long backingEnd = -1;
            if (settings.targetHasBacking() && targetIsNew && out.backing() != null) {
                backingEnd = roundUp(out.backing().size());
            }
            EngineTarget target = new EngineTarget(out);
            new Copy(src, target, target, out, settings, total, backingEnd, progress).run();
            out.flush();
            if (beforeClose != null) {
                beforeClose.run(out);
            }
        }
    }

    private static long roundUp(long n) {
        return (n + SECTOR - 1) / SECTOR * SECTOR;
    }

    /** One conversion into qcow2 or -n into raw: qemu-img's convert_iteration_sectors and convert_co_write. */
    private static final class Copy {
        private final Sources src;
        /** Where the copy writes: the qcow2 engine, or a raw file. */
        private final GuestWriter out;
        private final GuestWriter.Zeroes zeroes;
        /** The qcow2 target, for compressed writes; null for a raw one. */
        private final Qcow2Disk qcow2;
        private final Settings settings;
        private final long total;
        private final long backingEnd;
        private final DoubleConsumer progress;
        private final int cs;
        /** convert -c: clusters compressed on a thread pool, written in order. */
        private CompressedWrites compressed;

        Copy(Sources src, GuestWriter out, GuestWriter.Zeroes zeroes, Qcow2Disk qcow2, Settings settings,
             long total, long backingEnd, DoubleConsumer progress) throws IOException {
            this.src = src;
            this.out = out;
            this.zeroes = zeroes;
            this.qcow2 = qcow2;
            this.settings = settings;
            this.total = total;
            this.backingEnd = backingEnd;
            this.progress = progress;
            this.cs = qcow2 == null ? 0 : (int) qcow2.header().clusterSize();
        }

        void run() throws IOException {
            // qemu-img's progress counts the data steps only (and zero steps with -S 0), against the total its first
            // pass over the block status found; that pass is made only when someone watches
            boolean watched = progress != NO_PROGRESS;
            long allocated = watched ? allocatedBytes() : 0;
            long done = 0;
            ReadAhead.Producer planner = new ReadAhead.Producer() { // not a lambda: see DiskState's constructor
                @Override
                public void run(ReadAhead out) throws IOException {
                    plan(out);
                }
            };
            try (ReadAhead ahead = new ReadAhead(READ_AHEAD_BUFFERS, Math.max(CHUNK, cs), planner)) {
                if (settings.compress() && qcow2 != null && !qcow2.hasExternalDataFile()) {
                    compressed = new CompressedWrites(qcow2, Runtime.getRuntime().availableProcessors());
                }
                for (ReadAhead.Step step; (step = ahead.next()) != null; ) {
                    if (watched && step.what() == BlockDevice.Kind.DATA) {
                        done += step.n();
                        progress.accept(100.0 * done / allocated); // before the write, as qemu-img reports it
                    }
                    write(step);
                    if (step.data() != null) {
                        ahead.recycle(step.data());
                    }
                }
                if (compressed != null) {
                    compressed.drain();
                    qcow2.finishCompressedWrites();
                }
            } finally {
                if (compressed != null) {
                    compressed.close();
                }
            }
        }

        /** Where the status run being stepped through ends, and its kind (qemu-img's sector_next_status, status). */
        private long nextStatus;
        private BlockDevice.Kind status = BlockDevice.Kind.DATA;
        /** The kind of the step {@link #step} worked out last. */
        private BlockDevice.Kind stepKind;

        /**
         * qemu-img's first pass (convert_do_copy): the bytes of the steps its progress counts, data steps and, with
         * -S 0, zero steps (which the copy writes as data).
         */
        private long allocatedBytes() throws IOException {
            long sum = 0;
            for (long pos = 0; pos < total; ) {
                long n = step(pos);
                if (stepKind == BlockDevice.Kind.DATA) {
                    sum += n;
                }
                pos += n;
            }
            nextStatus = 0; // the copy steps through again from the start
            status = BlockDevice.Kind.DATA;
            return sum;
        }

        /** The steps of the copy, with the data of each data step read (on the read-ahead thread). */
        private void plan(ReadAhead out) throws IOException {
            long pos = 0;
            while (pos < total) {
                long n = step(pos);
                BlockDevice.Kind what = stepKind;
                ByteBuffer data = null;
                int[] parts = null;
                if (what == BlockDevice.Kind.DATA) {
                    data = out.buffer();
                    data.limit((int) n);
                    try {
                        src.read(pos, data);
                    } catch (CorruptMetadataException e) {
                        throw new ConvertException("error while reading at byte " + pos + ": Input/output error", e);
                    }
                    data.flip();
                    if (!settings.compress() && settings.minSparse() > 0) {
                        parts = dataParts(pos, (int) n, data); // here, on the reader's core
                    }
                }
                out.put(new ReadAhead.Step(pos, n, what, data, parts));
                pos += n;
            }
        }

        /**
         * qemu-img's convert_iteration_sectors: the length of the step at {@code pos} (the status of the source
         * asked where the last run ended), its kind left in {@link #stepKind}.
         */
        private long step(long pos) throws IOException {
            long n = Math.min(total - pos, MAX_REQUEST);
            boolean postBackingZero = false;
            if (backingEnd >= 0) {
                if (pos >= backingEnd) {
                    postBackingZero = true;
                } else if (pos + n > backingEnd) {
                    n = backingEnd - pos; // zeros are handled differently from there on
                }
            }
            if (nextStatus <= pos) {
                BlockDevice.Layered l;
                try {
                    l = sourceStatus(pos, n);
                } catch (CorruptMetadataException e) {
                    throw statusFailed(pos, e);
                }
                long count = roundUp(Math.max(1, l.length()));
                long tail = src.tail(pos, count);
                if (count > tail) {
                    count -= tail; // keep runs aligned to the source's clusters
                }
                status = switch (l.kind()) {
                    case ZERO -> postBackingZero ? BlockDevice.Kind.BACKING : BlockDevice.Kind.ZERO;
                    case DATA -> BlockDevice.Kind.DATA;
                    case BACKING -> settings.targetHasBacking() ? BlockDevice.Kind.BACKING
                            : BlockDevice.Kind.DATA;
                };
                nextStatus = pos + count;
            }
            n = Math.min(n, nextStatus - pos);
            BlockDevice.Kind what = status;
            if (settings.minSparse() == 0 && what == BlockDevice.Kind.ZERO) {
                what = BlockDevice.Kind.DATA; // -S 0: zeros are written as data, the target fully allocated
            }
            if (settings.compress()) {
                if (n < cs) {
                    n = Math.min(cs, total - pos); // compressed clusters are written whole
                    what = BlockDevice.Kind.DATA;
                } else {
                    n = n / cs * cs;
                }
                if (what == BlockDevice.Kind.DATA) {
                    n = Math.min(n, cs);
                }
            } else if (what == BlockDevice.Kind.DATA) {
                n = Math.min(n, CHUNK);
            }
            stepKind = what;
            return n;
        }

        private BlockDevice.Layered sourceStatus(long pos, long n) throws IOException {
            BlockStatus.Run r = src.status(pos, n, settings.targetHasBacking());
            if (r == null) {
                // the partial sector past a raw file's end
                return new BlockDevice.Layered(Math.min(n, src.partEnd(pos) - pos), BlockDevice.Kind.ZERO);
            }
            return kind(r);
        }

        private void write(ReadAhead.Step step) throws IOException {
            switch (step.what()) {
                case BACKING -> {
                    // left unallocated: the target's backing file shows through, as the source's did
                }
                case ZERO -> writeZeroes(step.pos(), step.n());
                case DATA -> {
                    if (settings.compress()) {
                        writeCompressed(step.pos(), (int) step.n(), step.data());
                    } else {
                        if (step.parts() == null) {
                            out.write(step.pos(), step.data()); // -S 0: every sector as data
                        } else {
                            writeData(step.pos(), step.data(), step.parts());
                        }
                    }
                }
            }
        }

        private void writeZeroes(long pos, long n) throws IOException {
            if (compressed != null) {
                compressed.drain(); // the target is written in guest order
            }
            if (!settings.targetIsZero()) {
                zeroes.writeZeroes(pos, n);
            }
        }

        private void writeCompressed(long pos, int n, ByteBuffer buf) throws IOException {
            if (settings.minSparse() > 0 && isZero(buf, 0, n)) {
                writeZeroes(pos, n);
                return;
            }
            if (qcow2.hasExternalDataFile()) {
                // QEMU's qcow2 driver refuses compressed writes into an image with an external data file
                throw new ConvertException("error while writing at byte " + pos + ": Operation not supported");
            }
            byte[] cluster = new byte[cs];
            buf.get(0, cluster, 0, n);
            compressed.add(pos, cluster);
        }

        /**
         * How a data step splits into the parts qemu-img's BLK_DATA write makes (is_allocated_sectors_min): sector
         * counts, positive for data, negative for zeros.
         */
        private int[] dataParts(long pos, int n, ByteBuffer buf) {
            int sectors = n / SECTOR;
            int[] parts = new int[4];
            int count = 0;
            int at = 0;
            while (at < sectors) {
                long[] r = allocatedSectorsMin(buf, at, sectors - at, pos / SECTOR + at);
                int len = (int) r[1];
                if (count == parts.length) {
                    parts = java.util.Arrays.copyOf(parts, 2 * count);
                }
                parts[count++] = r[0] != 0 ? len : -len;
                at += len;
            }
            return java.util.Arrays.copyOf(parts, count);
        }

        /** qemu-img's BLK_DATA write: data parts written, zero parts zeroed. */
        private void writeData(long pos, ByteBuffer buf, int[] parts) throws IOException {
            int at = 0;
            for (int part : parts) {
                int len = Math.abs(part);
                long off = pos + (long) at * SECTOR;
                if (part > 0) {
                    out.write(off, buf.duplicate().position(at * SECTOR).limit((at + len) * SECTOR));
                } else {
                    writeZeroes(off, (long) len * SECTOR);
                }
                at += len;
            }
        }

        /**
         * Like {@link #allocatedSectors}, but a data run goes on over zero runs shorter than the sparse size:
         * {data?, sectors}.
         */
        private long[] allocatedSectorsMin(ByteBuffer buf, int first, int n, long sectorNum) {
            int min = Math.min(settings.minSparse(), n);
            long[] r = allocatedSectors(buf, first, n, sectorNum);
            if (r[0] == 0) {
                return r;
            }
            int used = (int) r[1];
            int checked = used;
            int at = first + used;
            int left = n - used;
            while (left > 0) {
                long[] next = allocatedSectors(buf, at, left, sectorNum + checked);
                int len = (int) next[1];
                at += len;
                left -= len;
                checked += len;
                if (next[0] != 0) {
                    used = checked;
                } else if (len >= min) {
                    break;
                }
            }
            return new long[] {1, used};
        }

        /**
         * The run of sectors from {@code first} that are all zero or all not: {data?, sectors}, with the end of a
         * run moved to a 4 KiB boundary where that avoids a read-modify-write (qemu-img's is_allocated_sectors).
         */
        private long[] allocatedSectors(ByteBuffer buf, int first, int n, long sectorNum) {
            if (n <= 0) {
                return new long[] {0, 0};
            }
            boolean zero = sectorIsZero(buf, first);
            int i = 1;
            while (i < n && sectorIsZero(buf, first + i) == zero) {
                i++;
            }
            if (i == n) {
                return new long[] {zero ? 0 : 1, i};
            }
            int align = settings.alignment();
            int tail = (int) ((sectorNum + i) & (align - 1));
            if (tail != 0) {
                if (zero && i <= tail) {
                    zero = false; // the data after it rewrites this sector anyway
                }
                if (!zero) {
                    i = Math.min(n, i + align - tail);
                } else {
                    i -= tail;
                }
            }
            return new long[] {zero ? 0 : 1, i};
        }

        private static boolean sectorIsZero(ByteBuffer buf, int sector) {
            int at = sector * SECTOR;
            // most data sectors fail the first test (the buffers are in native order: no byte swap)
            return buf.getLong(at) == 0 && isZero(buf, at, SECTOR);
        }
    }

    /**
     * The graph's answer as the copy needs it: zeros (ZERO wins over DATA, as in qemu-img convert), data, or left
     * to the backing file.
     */
    private static BlockDevice.Layered kind(BlockStatus.Run r) {
        BlockDevice.Kind k = r.has(BlockStatus.ZERO) ? BlockDevice.Kind.ZERO
                : r.has(BlockStatus.DATA) ? BlockDevice.Kind.DATA : BlockDevice.Kind.BACKING;
        return new BlockDevice.Layered(r.length(), k);
    }

    private static void copyRaw(BlockGraph src, ImageFile out, DoubleConsumer progress) throws IOException {
        try {
            copyRawFast(src, out, progress);
        } catch (CorruptMetadataException e) {
            // qemu-img fails in the block-status walk of its first pass, where that walk meets the corruption
            throw statusFailed(failingStatusOffset(src), e);
        }
    }

    /** qemu-img convert's error for a block-status query that fails (corrupt metadata: EIO). */
    private static ConvertException statusFailed(long offset, CorruptMetadataException e) {
        return new ConvertException("error while reading block status at offset " + offset
                + ": Input/output error", e);
    }

    /**
     * Where qemu-img convert's walk over the source's block status (its first pass, which counts the allocated
     * sectors before anything is copied; the same steps as {@link Copy}) fails; 0 if it does not.
     */
    private static long failingStatusOffset(BlockGraph graph) throws IOException {
        BlockDevice src = graph.reader();
        long total = roundUp(src.size());
        long align = Math.max(SECTOR, src.allocationUnit());
        long pos = 0;
        while (pos < total) {
            long len = Math.min(Math.min(total - pos, MAX_REQUEST), src.size() - pos);
            if (len <= 0) {
                break;
            }
            BlockDevice.Layered l;
            try {
                l = kind(graph.statusAbove(pos, len));
            } catch (CorruptMetadataException e) {
                return pos;
            }
            long count = roundUp(Math.max(1, l.length()));
            long tail = (pos + count) % align;
            if (count > tail) {
                count -= tail;
            }
            pos += count;
        }
        return 0;
    }

    private static void copyRawFast(BlockGraph graph, ImageFile out, DoubleConsumer progress) throws IOException {
        BlockDevice src = graph.reader();
        long size = src.size();
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK); // direct: no copy per read and write
        // standard clusters of a qcow2 top can be copied file to file (extended L2: through the buffer, which
        // keeps zero blocks of partly allocated clusters as holes)
        boolean copyable = src instanceof Qcow2Disk && graph.topImage() != null
                && !graph.topImage().header().extendedL2();
        progress.accept(0);
        long pos = 0;
        while (pos < size) {
            BlockStatus.Run e = graph.statusAbove(pos, Math.min(CHUNK, size - pos));
            long len = Math.max(1, e.length());
            if (!e.has(BlockStatus.ZERO)) {
                if (copyable && inTopFile(e)) {
                    // Data clusters back to back in the image file: the kernel copies them (copy_file_range or
                    // sendfile), with no trip through a buffer here. Zero blocks inside them are copied, not
                    // skipped; zero clusters and unallocated areas still stay holes. Where they lie comes from
                    // the graph's answers (which read each L2 table once), runs merged while the host offsets
                    // follow on, up to CHUNK.
                    long host = e.offset();
                    while (pos + len < size && len < CHUNK) {
                        BlockStatus.Run next = graph.statusAbove(pos + len,
                                Math.min(CHUNK - len, size - pos - len));
                        if (!inTopFile(next) || next.has(BlockStatus.ZERO) || next.offset() != host + len) {
                            break;
                        }
                        len += next.length();
                    }
                    // what lies past the end of the file reads as zeros (QEMU's block layer), which the new
                    // target already holds
                    ImageFile from = ((Qcow2Disk) src).dataFile();
                    long inFile = Math.min(len, Math.max(0, from.size() - host));
                    if (inFile > 0) {
                        transfer(from, host, inFile, out, pos);
                    }
                    pos += len;
                    progress.accept(100.0 * pos / size);
                    continue;
                }
                // gather neighbouring data extents into one read and one write
                while (pos + len < size && len < CHUNK) {
                    BlockStatus.Run next = graph.statusAbove(pos + len, Math.min(CHUNK - len, size - pos - len));
                    if (next.has(BlockStatus.ZERO) || next.length() <= 0) {
                        break;
                    }
                    len += next.length();
                }
                buf.clear().limit((int) len);
                src.read(pos, buf);
                buf.flip();
                writeNonZero(out, pos, buf);
            }
            pos += len;
            progress.accept(100.0 * pos / size);
        }
        progress.accept(100);
    }

    /** Whether the answer is data of the top image's own clusters, at a host offset in its (data) file. */
    private static boolean inTopFile(BlockStatus.Run r) {
        return r.depth() == 0 && r.has(BlockStatus.DATA) && r.has(BlockStatus.OFFSET_VALID) && r.length() > 0;
    }

    private static void transfer(ImageFile from, long fromOffset, long length, ImageFile to, long toOffset)
            throws IOException {
        java.nio.channels.FileChannel target = to.channel();
        long done = 0;
        while (done < length) {
            target.position(toOffset + done);
            long n = from.channel().transferTo(fromOffset + done, length - done, target);
            if (n <= 0) {
                throw new IOException("short copy from " + from.path() + " at offset " + (fromOffset + done)
                        + ": the image file ends inside a data cluster");
            }
            done += n;
        }
    }

    /** Writes the buffer, skipping 4 KiB blocks of zeros so the target stays sparse. */
    private static void writeNonZero(ImageFile out, long offset, ByteBuffer data) throws IOException {
        final int block = 4096;
        int n = data.remaining();
        int runStart = -1;
        for (int at = 0; at < n; at += block) {
            int len = Math.min(block, n - at);
            boolean zero = isZero(data, at, len);
            if (!zero && runStart < 0) {
                runStart = at;
            } else if (zero && runStart >= 0) {
                out.writeFully(offset + runStart, data.duplicate().position(runStart).limit(at));
                runStart = -1;
            }
        }
        if (runStart >= 0) {
            out.writeFully(offset + runStart, data.duplicate().position(runStart).limit(n));
        }
    }

    /** Zeros to compare against: ByteBuffer.mismatch is a vectorized intrinsic, far faster than a loop. */
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(1 << 16);

    private static boolean isZero(ByteBuffer b, int from, int len) {
        for (int at = from; at < from + len; at += ZEROS.capacity()) {
            int n = Math.min(ZEROS.capacity(), from + len - at);
            if (b.slice(at, n).mismatch(ZEROS.slice(0, n)) != -1) {
                return false;
            }
        }
        return true;
    }
}
