package dev.q2;

import dev.q2.cache.L2CacheSizing;
import dev.q2.check.CheckFailedException;
import dev.q2.check.CheckMode;
import dev.q2.check.CheckListener;
import dev.q2.check.CheckMessage;
import dev.q2.check.CheckOptions;
import dev.q2.check.CheckReport;
import dev.q2.check.CheckResult;
import dev.q2.check.ImageChecker;
import dev.q2.create.CreateSpec;
import dev.q2.create.Qcow2Creator;
import dev.q2.image.PersistentBitmaps;
import dev.q2.image.Qcow2Disk;
import dev.q2.image.Qcow2Metadata;
import dev.q2.info.ImageInfo;
import dev.q2.info.ImageInfoCollector;
import dev.q2.io.ImageFile;
import dev.q2.io.QemuLock;
import dev.q2.io.Storage;
import dev.q2.block.BlockGraph;
import dev.q2.map.ImageMapper;
import dev.q2.util.QDict;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The entry point of q2's library: open, create, check, map and inspect qcow2 images, from a {@link Path} (with
 * QEMU's locks, so q2 and QEMU never write the same image at once) or from any {@link Storage} (memory, or an
 * application's own I/O; no locks). Every method reports failures as {@link IOException}s; problems with an image
 * or a request are {@link Q2Exception}s carrying qemu-img's message and a {@link Q2Exception.Category}. Nothing
 * here prints, reads the working folder or parses command-line strings.
 *
 * <pre>{@code
 * try (Image image = Qcow2.open(Path.of("disk.qcow2"), OpenOptions.readOnly())) {
 *     ByteBuffer mbr = ByteBuffer.allocate(512);
 *     image.read(0, mbr);
 * }
 * }</pre>
 *
 * <p>Thread-safe: the methods share no state. The objects they return say their own thread safety.
 */
public final class Qcow2 {
    private Qcow2() {
    }

    private static PrintWriter silent() {
        return new PrintWriter(Writer.nullWriter());
    }

    private static Q2Exception lockError(QemuLock.LockConflictException e, Path path) {
        return new Q2Exception(Q2Exception.Category.LOCKED, e.qemuLines(path.toString()), e);
    }

    /**
     * Opens a qcow2 image and, unless {@code options} say otherwise, its backing chain (names resolved as QEMU
     * resolves them: relative to the folder of the image that names them).
     *
     * @param path the image file
     * @param options read-only or read-write, locks, backing chain, L2 cache
     * @return the open image; the caller closes it
     * @throws Q2Exception when the image is invalid, unsupported or locked by another process
     * @throws IOException when the file cannot be opened or read
     */
    public static Image open(Path path, OpenOptions options) throws IOException {
        Objects.requireNonNull(path, "path");
        try {
            return new Image(Qcow2Disk.open(path, options.toDiskOptions(), silent()), options.writable());
        } catch (QemuLock.LockConflictException e) {
            throw lockError(e, path);
        }
    }

    /**
     * Opens a qcow2 image held in a storage. Such an image has no name to resolve other files against: one with a
     * backing file opens only with {@link OpenOptions#withBackingChain(boolean) withBackingChain(false)}, one with
     * an external data file not at all. Closing the image closes the storage.
     *
     * @param storage the image's bytes; writable when {@code options} are
     * @param options read-only or read-write, L2 cache (locks do not apply)
     * @return the open image; the caller closes it
     * @throws Q2Exception when the image is invalid or unsupported
     * @throws IOException when the storage cannot be read
     */
    public static Image open(Storage storage, OpenOptions options) throws IOException {
        Objects.requireNonNull(storage, "storage");
        return new Image(Qcow2Disk.open(storage, options.toDiskOptions(), silent()), options.writable());
    }

    /**
     * Creates a qcow2 image as q2 create (and qemu-img create) does, byte for byte: replaces {@code path} if it
     * exists and no process holds it open for writing. A backing file named in {@code spec} must exist (its size
     * is not needed: the spec has one).
     *
     * @param path the new image
     * @param spec size and options
     * @throws Q2Exception with q2 create's message when the options are invalid for this file or the backing file
     *     cannot be opened, or when the file is locked
     * @throws IOException when the file cannot be written
     */
    public static void create(Path path, ImageSpec spec) throws IOException {
        Path abs = path.toAbsolutePath();
        Path dir = abs.getParent();
        CreateSpec planned = spec.plan(dir, abs.getFileName().toString(), false);
        try {
            QemuLock.checkNotInUse(abs);
        } catch (QemuLock.LockConflictException e) {
            throw lockError(e, path);
        }
        Qcow2Creator.create(abs, planned);
    }

    /**
     * Creates a qcow2 image in a storage (replacing what it holds), as {@link #create(Path, ImageSpec)} would in a
     * file; the storage stays open. A backing file is recorded but not opened; an external data file needs a path.
     *
     * @param storage where the image goes; writable
     * @param spec size and options
     * @throws Q2Exception when the options are invalid
     * @throws IOException when the storage cannot be written
     */
    public static void create(Storage storage, ImageSpec spec) throws IOException {
        Qcow2Creator.create(storage, spec.plan(Path.of("").toAbsolutePath(), ImageSpec.UNNAMED, true));
    }

    /**
     * Checks a qcow2 image as qemu-img check does, and repairs it when asked ({@code -r leaks}, {@code -r all}):
     * after a repair the image is checked again, and the result counts what is left, with what was repaired.
     * A repairing check takes QEMU's write lock; a plain check QEMU's shared lock.
     *
     * @param path the image
     * @param repair what to repair
     * @return the result
     * @throws Q2Exception when the image cannot be opened as qcow2, is locked, or the check cannot run
     * @throws IOException when the file cannot be read or written
     */
    public static CheckSummary check(Path path, Repair repair) throws IOException {
        return check(path, repair, null);
    }

    /**
     * {@link #check(Path, Repair)}, passing each message of the check (qemu-img's stderr lines, such as
     * "Leaked cluster 5 refcount=1 reference=0") to {@code messages} as well as into the result.
     *
     * @param path the image
     * @param repair what to repair
     * @param messages receives the check's messages as they come, or null
     * @return the result
     * @throws Q2Exception when the image cannot be opened as qcow2, is locked, or the check cannot run
     * @throws IOException when the file cannot be read or written
     */
    public static CheckSummary check(Path path, Repair repair, Consumer<String> messages) throws IOException {
        CheckOptions options = CheckOptions.defaults().withMode(CheckMode.valueOf(repair.name()));
        MessageCollector collector = new MessageCollector(messages);
        return summary(ImageChecker.check(path, options, collector), collector);
    }

    /**
     * Checks (and repairs) a qcow2 image held in a storage, as {@link #check(Path, Repair, Consumer)} does a file.
     * The storage stays open.
     *
     * @param storage the image; writable when {@code repair} is not {@link Repair#NONE}
     * @param repair what to repair
     * @param messages receives the check's messages, or null
     * @return the result
     * @throws Q2Exception when the image cannot be opened as qcow2 or the check cannot run
     * @throws IOException when the storage cannot be read or written
     */
    public static CheckSummary check(Storage storage, Repair repair, Consumer<String> messages) throws IOException {
        CheckMode mode = CheckMode.valueOf(repair.name());
        if (mode.repairs() && !storage.writable()) {
            throw new Q2Exception(Q2Exception.Category.INVALID_ARGUMENT, "A repair needs a writable storage");
        }
        return check(new ImageFile(storage), mode, messages);
    }

    private static CheckSummary check(ImageFile f, CheckMode mode, Consumer<String> messages) throws IOException {
        MessageCollector collector = new MessageCollector(messages);
        return summary(ImageChecker.check(f, mode, collector), collector);
    }

    private static CheckSummary summary(CheckReport report, MessageCollector collector) {
        CheckResult r = report.result();
        return new CheckSummary(r.corruptions(), r.leaks(), r.checkErrors(), r.corruptionsFixed(), r.leaksFixed(),
                r.imageEndOffset(), r.totalClusters(), r.allocatedClusters(), r.fragmentedClusters(),
                r.compressedClusters(), List.copyOf(collector.lines));
    }

    /** The check's messages as lines (qemu-img's text), passed on as they come. */
    private static final class MessageCollector implements CheckListener {
        private final Consumer<String> messages;
        private final List<String> lines = new ArrayList<>();

        MessageCollector(Consumer<String> messages) {
            this.messages = messages;
        }

        @Override
        public void message(CheckMessage message) {
            for (String line : message.text().split("\n")) {
                if (!line.isEmpty()) {
                    lines.add(line);
                    if (messages != null) {
                        messages.accept(line);
                    }
                }
            }
        }
    }

    /**
     * The allocation map of an image and its backing chain, as qemu-img map {@code --output=json} reports it:
     * consecutive runs of the same kind from the same layer merged. Takes QEMU's shared lock on each image unless
     * {@code forceShare}.
     *
     * @param path the top image (qcow2 or raw); backing files are found by the names it records
     * @param forceShare true to take no locks (qemu-img {@code -U})
     * @return the runs, in guest order, covering the whole disk
     * @throws Q2Exception when an image of the chain is invalid or locked
     * @throws IOException when a file cannot be read
     */
    public static List<Extent> map(Path path, boolean forceShare) throws IOException {
        List<Extent> out = new ArrayList<>();
        map(path, forceShare, out::add);
        return out;
    }

    /**
     * {@link #map(Path, boolean)}, passing the runs to {@code sink} one by one instead of collecting them.
     *
     * @param path the top image
     * @param forceShare true to take no locks
     * @param sink receives each run, in guest order
     * @throws Q2Exception when an image of the chain is invalid or locked
     * @throws IOException when a file cannot be read
     */
    public static void map(Path path, boolean forceShare, Consumer<Extent> sink) throws IOException {
        Path workDir = Path.of("").toAbsolutePath();
        BlockGraph chain;
        try {
            chain = BlockGraph.open(workDir, path.toString(), null, forceShare);
        } catch (QemuLock.LockConflictException e) {
            throw lockError(e, path);
        }
        try (chain) {
            ImageMapper.map(chain, 0, -1, (e, last) -> sink.accept(new Extent(e.start(), e.length(), e.depth(), e.present(),
                    e.zero(), e.data(), e.hasOffset() ? e.offset() : -1, e.hasOffset() ? e.filename() : null)));
        }
    }

    /**
     * The main facts qemu-img info reports about an image (any format q2 recognises).
     *
     * @param path the image
     * @param forceShare true to take no locks
     * @return the facts
     * @throws Q2Exception when the image is invalid or locked
     * @throws IOException when the file cannot be read
     */
    public static ImageSummary info(Path path, boolean forceShare) throws IOException {
        ImageInfo info;
        try {
            info = ImageInfoCollector.collect(Path.of("").toAbsolutePath(), path.toString(), null, forceShare);
        } catch (QemuLock.LockConflictException e) {
            throw lockError(e, path);
        }
        QDict q = info.qapi();
        QDict specific = q.get("format-specific") instanceof QDict s && s.get("data") instanceof QDict d ? d : null;
        return new ImageSummary((String) q.get("format"), number(q.get("virtual-size"), -1),
                number(q.get("actual-size"), -1), number(q.get("cluster-size"), -1), info.backingFilename(),
                info.backingFormat(), Boolean.TRUE.equals(q.get("dirty-flag")),
                specific == null ? null : (String) specific.get("compat"),
                specific != null && Boolean.TRUE.equals(specific.get("extended-l2")),
                specific != null && Boolean.TRUE.equals(specific.get("corrupt")));
    }

    private static long number(Object o, long otherwise) {
        return o instanceof Number n ? n.longValue() : otherwise;
    }

    /**
     * How large an L2 cache the image needs to cover its whole disk, and how much QEMU's default covers.
     *
     * @param path a qcow2 image
     * @param forceShare true to take no locks
     * @return the report
     * @throws Q2Exception when the image is not a valid qcow2 image, or is locked
     * @throws IOException when the file cannot be read
     */
    public static CacheReport cacheReport(Path path, boolean forceShare) throws IOException {
        ImageFile f = ImageFile.openReadOnly(path);
        try (f; QemuLock lock = forceShare ? null : QemuLock.acquire(f.channel(), path, 0,
                QemuLock.PERM_ALL & ~(QemuLock.PERM_WRITE | QemuLock.PERM_RESIZE))) {
            return cacheReport(f);
        } catch (QemuLock.LockConflictException e) {
            throw lockError(e, path);
        }
    }

    /**
     * {@link #cacheReport(Path, boolean)} for an image held in a storage; the storage stays open.
     *
     * @param storage a qcow2 image
     * @return the report
     * @throws Q2Exception when the image is not a valid qcow2 image
     * @throws IOException when the storage cannot be read
     */
    public static CacheReport cacheReport(Storage storage) throws IOException {
        return cacheReport(new ImageFile(storage));
    }

    private static CacheReport cacheReport(ImageFile f) throws IOException {
        Qcow2Metadata img = Qcow2Metadata.loadMetadata(f);
        var h = img.header();
        L2CacheSizing s = new L2CacheSizing(h.size(), h.clusterSize(), h.extendedL2());
        return new CacheReport(s.entrySize(), s.entriesPerTable(), s.allocationUnit(), s.tablesForFullCoverage(),
                s.fullCoverageBytes(), img.allocatedL2Tables(), L2CacheSizing.QEMU_DEFAULT_MAX,
                s.defaultCacheCoverageBytes(), s.defaultCoversDisk(), s.qemuOption(), s.libvirtDriver());
    }

}
