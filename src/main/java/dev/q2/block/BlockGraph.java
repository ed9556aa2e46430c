package dev.q2.block;

import dev.q2.format.ChildNames;
import dev.q2.image.BlockDevice;
import dev.q2.image.CorruptMetadataException;
import dev.q2.image.Devices;
import dev.q2.image.ImageException;
import dev.q2.image.Qcow2Metadata;
import dev.q2.io.ImageFile;
import dev.q2.io.QemuLock;
import dev.q2.probe.FormatProber;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * An image opened with its whole backing chain as QEMU's block layer opens it (one graph of nodes: format nodes,
 * their files, data files and backing nodes), answering block-status queries as {@code bdrv_block_status} and
 * {@code bdrv_block_status_above} do for qemu-img map, compare, convert and measure.
 *
 * <p>It opens read-only, with QEMU's shared locks (unless force-share), qcow2 or raw at every level. Names follow
 * {@link ChildNames}: a backing file named relatively is found in the folder of the image that names it, with the
 * format from the backing format extension, probed when absent; an external data file is found in the working
 * folder ({@code workDir}), not the image's. Failures carry QEMU's words (see {@link OpenErrors}).
 *
 * <p>Not thread-safe: one thread queries a graph at a time.
 */
public final class BlockGraph implements Closeable {
    private static final int QCOW2_SHARED = QemuLock.PERM_ALL & ~(QemuLock.PERM_WRITE | QemuLock.PERM_RESIZE);

    private final Path workDir;
    private final boolean forceShare;
    /** Whether the reader takes the locks (a copy's source) instead of the graph's nodes. */
    private boolean readerLocks;
    /** The key secrets of an encrypted top image and its backing chain (encrypt.key-secret); null for none. */
    private dev.q2.crypto.ImageKeys keys;
    private final List<QemuLock> locks = new ArrayList<>();
    private final Set<String> opened = new HashSet<>();
    private final BlockStatus.Result result = new BlockStatus.Result();
    private Node top;
    private BlockDevice reader;
    /** The internal snapshot read instead of the active state, or null. */
    private dev.q2.format.SnapshotEntry snapshot;

    private BlockGraph(Path workDir, boolean forceShare) {
        this.workDir = workDir;
        this.forceShare = forceShare;
    }

    /**
     * Opens {@code filename} (relative to {@code workDir}) and everything below it.
     *
     * @param workDir the working folder names are resolved against
     * @param filename the top image's name, as the user gave it
     * @param format "qcow2", "raw", or null to probe
     * @param forceShare take and check no locks (qemu-img -U)
     * @return the opened graph
     * @throws IOException when a file cannot be read
     * @throws ImageException with QEMU's reason (the caller adds "Could not open 'filename': ")
     */
    public static BlockGraph open(Path workDir, String filename, String format, boolean forceShare)
            throws IOException {
        return open(workDir, filename, format, forceShare, false, References.ALL);
    }

    /**
     * Opens {@code filename} (relative to {@code workDir}) and, of what it names, only what {@code references}
     * allows. With {@link References#NONE} nothing but the image's own file is opened, stat'ed or resolved: the
     * graph is the top layer alone (clusters it does not allocate read as zeros, as with QEMU's
     * {@code "backing": null}), and data in an external data file is reported at its offset there under the name the
     * image stores.
     *
     * @param workDir the working folder names are resolved against
     * @param filename the top image's name, as the user gave it
     * @param format "qcow2", "raw", or null to probe
     * @param forceShare take and check no locks (qemu-img -U)
     * @param references which named files to open
     * @return the opened graph
     * @throws IOException when a file cannot be read
     * @throws ImageException with QEMU's reason (the caller adds "Could not open 'filename': ")
     */
    public static BlockGraph open(Path workDir, String filename, String format, boolean forceShare,
                                  References references) throws IOException {
        return open(workDir, filename, format, forceShare, false, references);
    }

    /**
     * Opens {@code filename} and everything below it as the source of a copy (qemu-img convert): as
     * {@link #open}, but with the locks of a copy's source, which shares no writes or resizes at any level (a raw
     * image included), taken by its {@link #reader()} (unless {@code forceShare}). Open it before anything else.
     *
     * @param workDir the working folder names are resolved against
     * @param filename the top image's name, as the user gave it
     * @param format "qcow2", "raw", or null to probe
     * @param forceShare take and check no locks (qemu-img -U)
     * @return the opened graph
     * @throws IOException when an image cannot be opened (QEMU's reason)
     */
    public static BlockGraph openSource(Path workDir, String filename, String format, boolean forceShare)
            throws IOException {
        return openWithKeys(workDir, filename, format, forceShare, true, References.ALL, null);
    }

    private static BlockGraph open(Path workDir, String filename, String format, boolean forceShare,
                                   boolean readerLocks, References references) throws IOException {
        return open(workDir, filename, format, forceShare, readerLocks, references, null);
    }

    /**
     * As {@link #open(Path, String, String, boolean, References)} (or {@link #openSource} with
     * {@code source}), with the key secrets of an encrypted image and its backing chain: each encrypted qcow2
     * layer is unlocked as it is opened (QEMU's "Invalid password, cannot unlock any keyslot" when it is not).
     *
     * @param workDir the working folder names are resolved against
     * @param filename the top image's name
     * @param format "qcow2", "raw", or null to probe
     * @param forceShare take and check no locks
     * @param source whether the graph is a copy's source (its reader takes the source's locks)
     * @param references which named files to open
     * @param keys the key secrets (encrypt.key-secret, backing.encrypt.key-secret), or null
     * @return the opened graph
     * @throws IOException when an image cannot be opened (QEMU's reason)
     */
    public static BlockGraph openWithKeys(Path workDir, String filename, String format, boolean forceShare,
                                          boolean source, References references, dev.q2.crypto.ImageKeys keys)
            throws IOException {
        BlockGraph g = open(workDir, filename, format, source || forceShare, source && !forceShare, references,
                keys);
        if (source) {
            try {
                g.reader();
            } catch (IOException | RuntimeException e) {
                g.close();
                throw e;
            }
        }
        return g;
    }

    private static BlockGraph open(Path workDir, String filename, String format, boolean forceShare,
                                   boolean readerLocks, References references, dev.q2.crypto.ImageKeys keys)
            throws IOException {
        // (the public entry with keys is openWithKeys)
        BlockGraph c = new BlockGraph(workDir, forceShare);
        c.readerLocks = readerLocks;
        c.keys = keys;
        try {
            c.top = c.openImage(filename, format, references, keys);
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    Node top() {
        return top;
    }

    /**
     * Guest reads of the top image (QEMU's BlockBackend over this graph): a {@link BlockDevice} over the same chain
     * and data file, opened on first use under this graph's locks and closed with the graph. Its answers are the
     * guest's bytes; block status comes from the graph ({@link #statusAbove}, {@link #topStatus}).
     *
     * @return the guest view of the top image
     * @throws IOException when it cannot be opened
     */
    public BlockDevice reader() throws IOException {
        if (reader == null) {
            String fmt = top instanceof Qcow2Node ? "qcow2" : "raw";
            reader = Devices.openRead(workDir.resolve(top.filename()), fmt, !readerLocks, workDir, keys);
            if (snapshot != null && reader instanceof dev.q2.image.Qcow2Disk d) {
                d.loadSnapshot(snapshot);
            }
        }
        return reader;
    }

    /** @return the name of the top image, as it was given to {@link #open} */
    public String filename() {
        return top.filename();
    }

    /** @return the top image when it is a qcow2 image (its header, snapshots, bitmaps), else null */
    public Qcow2Metadata topImage() {
        return top instanceof Qcow2Node q ? q.image() : null;
    }

    /**
     * From now on, reads the top image's internal snapshot {@code sn} instead of its active state (qemu-img's -l,
     * QEMU's bdrv_snapshot_load_tmp): block status and, through {@link #reader()}, guest reads; the size stays the
     * image's.
     *
     * @param sn the snapshot
     * @throws IOException when its L1 table cannot be read
     */
    public void loadSnapshot(dev.q2.format.SnapshotEntry sn) throws IOException {
        if (!(top instanceof Qcow2Node q)) {
            throw new ImageException(NO_SNAPSHOT_LOAD);
        }
        q.loadSnapshot(sn);
        if (reader instanceof dev.q2.image.Qcow2Disk d) {
            d.loadSnapshot(sn);
        }
        snapshot = sn; // for a reader opened later
    }

    private static final String NO_SNAPSHOT_LOAD =
            "Block format 'raw' used by device '' does not support temporarily loading internal snapshots";

    /**
     * QEMU's bdrv_snapshot_load_tmp (qemu-img convert and measure {@code -l snapshot.id=ID,snapshot.name=NAME}):
     * loads the first snapshot with this ID and this name (either may be null, not both). Failures in QEMU's words,
     * which the caller prefixes with "Failed to load snapshot: ": a raw image's refusal, "Can't find snapshot", and
     * the checks of the snapshot's L1 table ({@link Qcow2Metadata#snapshotL1Table}).
     *
     * @param id the snapshot's ID, or null
     * @param name the snapshot's name, or null
     * @throws IOException when it cannot be loaded
     */
    public void loadSnapshot(String id, String name) throws IOException {
        if (id == null && name == null) {
            throw new ImageException("snapshot_id and name are both NULL");
        }
        if (!(top instanceof Qcow2Node q)) {
            throw new ImageException(NO_SNAPSHOT_LOAD);
        }
        dev.q2.format.SnapshotEntry found = null;
        for (dev.q2.format.SnapshotEntry s : q.image().snapshots()) {
            if ((id == null || id.equals(s.id())) && (name == null || name.equals(s.name()))) {
                found = s;
                break;
            }
        }
        if (found == null) {
            throw new SnapshotNotFound();
        }
        loadSnapshot(found);
    }

    /**
     * QEMU's bdrv_snapshot_load_tmp_by_id_or_name (qemu-img convert and measure {@code -l ID_OR_NAME}): by ID
     * first; when that finds none, or finds one whose L1 table offset is invalid (both EINVAL or ENOENT to QEMU),
     * by name, and that second attempt's failure is the one reported.
     *
     * @param idOrName the snapshot's ID or name
     * @throws IOException when it cannot be loaded
     */
    public void loadSnapshotByIdOrName(String idOrName) throws IOException {
        try {
            loadSnapshot(idOrName, null);
        } catch (SnapshotNotFound e) {
            loadSnapshot(null, idOrName);
        } catch (Qcow2Metadata.SnapshotL1Exception e) {
            if (!e.invalid()) {
                throw e;
            }
            loadSnapshot(null, idOrName);
        }
    }

    /** No snapshot with the ID and name asked for (QEMU: ENOENT). */
    private static final class SnapshotNotFound extends ImageException {
        SnapshotNotFound() {
            super("Can't find snapshot");
        }
    }

    /**
     * Block status of {@code [offset, offset + bytes)} through the whole chain, as qemu-img compare asks for it
     * ({@code bdrv_block_status_above} with no base): flags from {@link BlockStatus} and the length of the run from
     * {@code offset} (at least 1 byte when {@code offset} is inside the image and {@code bytes} is positive).
     *
     * @param offset the guest offset
     * @param bytes the most bytes to describe
     * @return the run from {@code offset}
     * @throws CorruptMetadataException where QEMU would find the metadata corrupt and fail the query with EIO
     */
    public BlockStatus.Run statusAbove(long offset, long bytes) throws IOException {
        BlockStatus.Result r = result;
        int flags = BlockStatus.queryAbove(top, offset, bytes, r);
        return r.toRun(flags);
    }

    /**
     * Block status of {@code [offset, offset + bytes)} of the top image alone ({@code bdrv_block_status}, as qemu-img
     * convert asks for it when the target has a backing file): a range the top does not allocate has neither
     * {@link BlockStatus#DATA} nor {@link BlockStatus#ZERO} when a backing file provides it, and reads as zeros
     * (ZERO) where there is none or it has ended.
     *
     * @param offset the guest offset
     * @param bytes the most bytes to describe
     * @return the run from {@code offset}
     * @throws CorruptMetadataException where QEMU would find the metadata corrupt and fail the query with EIO
     */
    public BlockStatus.Run topStatus(long offset, long bytes) throws IOException {
        BlockStatus.Result r = result;
        r.depth = 0;
        int flags = BlockStatus.query(top, offset, bytes, r) & ~(BlockStatus.RECURSE | BlockStatus.RAW);
        return r.toRun(flags);
    }

    /**
     * Block status of {@code [offset, offset + bytes)} as qemu-img map asks for it (its {@code get_block_status}):
     * each layer's own status ({@code bdrv_block_status}) from the top down, until a layer has data or zeros there;
     * the answer is that layer's, with its depth, or the bottom layer's "unallocated" (flags 0) when none has.
     * The length is at least 1 byte when {@code offset} is inside the image and {@code bytes} is positive.
     *
     * @param offset the guest offset
     * @param bytes the most bytes to describe
     * @return the run from {@code offset}
     * @throws CorruptMetadataException where QEMU would find the metadata corrupt and fail the query with EIO
     */
    public BlockStatus.Run statusByLayer(long offset, long bytes) throws IOException {
        Node bs = top;
        int depth = 0;
        int ret;
        BlockStatus.Result r = result;
        for (;;) {
            ret = BlockStatus.query(bs, offset, bytes, r);
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
        r.depth = depth;
        return r.toRun(ret);
    }

    /**
     * The layer at {@code depth} of the chain (0: the top image, 1: its backing file, ...), or null past the bottom:
     * for commands that walk the chain themselves (qemu-img commit's search for its base).
     */
    public Layer layer(int depth) {
        Node n = top;
        for (int i = 0; i < depth && n != null; i++) {
            n = n.backing();
        }
        return n == null ? null : new Layer(n, depth);
    }

    /** One layer of the chain: its name (combined with the names above it, as QEMU combines them), format, status. */
    public final class Layer {
        private final Node node;
        private final int depth;

        private Layer(Node node, int depth) {
            this.node = node;
            this.depth = depth;
        }

        public int depth() {
            return depth;
        }

        /** The file name as QEMU names the node (relative names combined with the folders of the images above). */
        public String filename() {
            return node.filename();
        }

        /** "qcow2" or "raw". */
        public String format() {
            return node instanceof Qcow2Node ? "qcow2" : "raw";
        }

        /** The length the block layer uses (whole sectors). */
        public long length() {
            return node.length();
        }

        /**
         * This layer's own block status ({@code bdrv_block_status} of the node, as {@link #topStatus} for the top):
         * {@link BlockStatus#ALLOCATED} where it holds the range itself; length 0 at or past its end.
         */
        public BlockStatus.Run status(long offset, long bytes) throws IOException {
            BlockStatus.Result r = result;
            r.depth = depth;
            int flags = BlockStatus.query(node, offset, bytes, r) & ~(BlockStatus.RECURSE | BlockStatus.RAW);
            return r.toRun(flags);
        }
    }

    /** @return the length of the image in bytes as qemu-img map sees it (whole sectors) */
    public long length() {
        return top.length();
    }

    private Node openImage(String name, String format, References references, dev.q2.crypto.ImageKeys keys)
            throws IOException {
        String canonical = workDir.resolve(name).toAbsolutePath().normalize().toString();
        if (!opened.add(canonical)) {
            throw new ImageException("Backing file '" + name + "' creates an infinite loop.");
        }
        if (format != null && !format.equals("raw") && !format.equals("qcow2")) {
            // QEMU looks the driver up before it opens the file
            throw new ImageException(FormatProber.FOREIGN.contains(format) ? FormatProber.cannotRead(format)
                    : "Unknown driver '" + format + "'");
        }
        ImageFile f = openFile(name);
        FileNode file = null;
        try {
            String fmt = format != null ? format : Devices.probe(f);
            if (FormatProber.FOREIGN.contains(fmt)) {
                throw new ImageException(FormatProber.cannotRead(fmt)); // never read as raw
            }
            if (fmt.equals("raw")) {
                // the raw format passes its user's permissions through: it shares writes (QEMU's filter defaults)
                lock(f, name, QemuLock.PERM_ALL);
                file = new FileNode(name, f);
                return new RawNode(file);
            }
            // the qcow2 driver's metadata child: no other writer, no resize (bdrv_default_perms_for_storage)
            lock(f, name, QCOW2_SHARED);
            file = new FileNode(name, f);
            boolean keyed = keys != null && keys.keySecretId() != null;
            // without a key an encrypted image is refused with QEMU's words; with one it must unlock
            Qcow2Metadata img = keyed ? Qcow2Metadata.loadWithKey(f) : Qcow2Metadata.load(f);
            if (keyed) {
                dev.q2.image.EncryptionKeys.unlock(f, img, keys);
            }
            Node data = null;
            Node backing = null;
            try {
                String dataName = img.dataFile();
                boolean hasDataFile = dataName != null && (img.header().incompatibleFeatures()
                        & dev.q2.format.Features.INCOMPAT_DATA_FILE) != 0;
                if (hasDataFile && !references.dataFile()) {
                    data = new DetachedFile(dataName); // named, never opened
                } else if (hasDataFile) {
                    ImageFile df = openFile(dataName); // in the working folder: ChildNames.dataFile
                    try {
                        // a data-only child: others may write, but not resize
                        lock(df, dataName, QemuLock.PERM_ALL & ~QemuLock.PERM_RESIZE);
                        data = new FileNode(dataName, df);
                    } catch (IOException | RuntimeException e) {
                        df.close();
                        throw e;
                    }
                }
                String backingName = img.backingFile();
                if (backingName != null && !backingName.isEmpty() && references.backing()) {
                    String full = ChildNames.backing(name, backingName);
                    try {
                        // file: and json: names as QEMU reads them, within q2's rule for names an image holds
                        ImageName stored = ImageName.stored(full);
                        backing = openImage(stored.filename(), stored.format() != null ? stored.format()
                                : img.backingFormat(), References.ALL, keys != null ? keys.backing() : null);
                    } catch (ImageException e) {
                        throw new ImageException("Could not open backing file: " + e.getMessage(), e);
                    }
                }
            } catch (IOException | RuntimeException e) {
                if (data != null) {
                    data.close();
                }
                throw e;
            }
            return new Qcow2Node(name, img, file, data, backing);
        } catch (IOException | RuntimeException e) {
            if (file != null) {
                file.close();
            } else {
                f.close();
            }
            throw e;
        }
    }

    /** Opens one file; failures read "Could not open 'name': reason", as in QEMU's file driver. */
    private ImageFile openFile(String name) throws IOException {
        if (name.isEmpty()) {
            throw new ImageException(OpenErrors.EMPTY_NAME);
        }
        Path path = ChildNames.dataFile(workDir, name); // a backing file's name is combined already
        if (Files.isDirectory(path)) {
            throw new ImageException(OpenErrors.notRegular(name));
        }
        try {
            return ImageFile.openReadOnly(path);
        } catch (IOException e) {
            throw new ImageException(OpenErrors.couldNotOpen(name, e), e);
        }
    }

    /**
     * Takes QEMU's locks for reading {@code f} while sharing {@code shared} (unless force-share). A conflict reads
     * as QEMU words it, on two lines, with the file named as the image names it.
     */
    private void lock(ImageFile f, String name, int shared) throws IOException {
        if (forceShare) {
            return;
        }
        try {
            locks.add(QemuLock.acquire(f.channel(), workDir.resolve(name), 0, shared));
        } catch (QemuLock.LockConflictException e) {
            throw new ImageException(e.qemuLines(name), e);
        }
    }

    @Override
    public void close() throws IOException {
        List<AutoCloseable> all = new ArrayList<>();
        all.add(reader);
        all.addAll(locks);
        all.add(top);
        dev.q2.util.Closeables.closeAll(all);
    }
}
