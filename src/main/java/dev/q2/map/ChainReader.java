package dev.q2.map;

import dev.q2.create.CreatePlanner;
import dev.q2.image.CorruptMetadataException;
import dev.q2.image.Devices;
import dev.q2.image.ImageException;
import dev.q2.image.Qcow2Metadata;
import dev.q2.io.ImageFile;
import dev.q2.io.QemuLock;
import dev.q2.probe.FormatProber;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Opens an image and its whole backing chain for reading, as qemu-img opens it for map: read-only, with QEMU's
 * shared locks (unless force-share), qcow2 or raw at every level. A backing file named relatively is found in the
 * folder of the image that names it, with the format from the backing format extension, probed when absent. An
 * external data file name is used as it is stored (QEMU resolves it against the working folder, not the image's).
 */
public final class ChainReader implements Closeable {
    private static final int QCOW2_SHARED = QemuLock.PERM_ALL & ~(QemuLock.PERM_WRITE | QemuLock.PERM_RESIZE);

    private final Path workDir;
    private final boolean forceShare;
    private final List<QemuLock> locks = new ArrayList<>();
    private final Set<String> opened = new HashSet<>();
    private Node top;

    private ChainReader(Path workDir, boolean forceShare) {
        this.workDir = workDir;
        this.forceShare = forceShare;
    }

    /**
     * Opens {@code filename} (relative to {@code workDir}) and everything below it.
     *
     * @param format "qcow2", "raw", or null to probe
     * @throws ImageException with QEMU's reason (the caller adds "Could not open 'filename': ")
     */
    public static ChainReader open(Path workDir, String filename, String format, boolean forceShare)
            throws IOException {
        ChainReader c = new ChainReader(workDir, forceShare);
        try {
            c.top = c.openImage(filename, format, false);
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    Node top() {
        return top;
    }

    /** The top image when it is a qcow2 image (its header, snapshots, bitmaps), else null. */
    public Qcow2Metadata topImage() {
        return top instanceof Qcow2Node q ? q.image() : null;
    }

    /**
     * From now on, reads the top image's internal snapshot {@code sn} instead of its active state (qemu-img's -l,
     * QEMU's bdrv_snapshot_load_tmp).
     */
    public void loadSnapshot(dev.q2.format.SnapshotEntry sn) throws IOException {
        if (!(top instanceof Qcow2Node q)) {
            throw new ImageException("Block format 'raw' used by device '' does not support temporarily loading"
                    + " internal snapshots");
        }
        q.loadSnapshot(sn);
    }

    /**
     * Block status of {@code [offset, offset + bytes)} through the whole chain, as qemu-img compare asks for it
     * ({@code bdrv_block_status_above} with no base): flags from {@link BlockStatus} and the length of the run from
     * {@code offset} (at least 1 byte when {@code offset} is inside the image and {@code bytes} is positive).
     *
     * @throws CorruptMetadataException where QEMU would find the metadata corrupt and fail the query with EIO
     */
    public BlockStatus.Run statusAbove(long offset, long bytes) throws IOException {
        BlockStatus.Result r = new BlockStatus.Result();
        int flags = BlockStatus.queryAbove(top, offset, bytes, r);
        return new BlockStatus.Run(flags, r.pnum);
    }

    /**
     * Block status of {@code [offset, offset + bytes)} of the top image alone, not looking at its backing files, as
     * qemu-io's map and alloc ask for it ({@code bdrv_is_allocated}: {@link BlockStatus#ALLOCATED} set where the top
     * image itself holds data or zeros).
     */
    public BlockStatus.Run statusTop(long offset, long bytes) throws IOException {
        BlockStatus.Result r = new BlockStatus.Result();
        int flags = BlockStatus.query(top, offset, bytes, r);
        return new BlockStatus.Run(flags & ~0x48, r.pnum); // RAW and RECURSE stay internal
    }

    /** Length of the image in bytes as qemu-img map sees it (whole sectors). */
    public long length() {
        return top.length();
    }

    private Node openImage(String name, String format, boolean isBacking) throws IOException {
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
            Qcow2Metadata img = Qcow2Metadata.load(f); // refuses encrypted images: q2 has no keys
            FileNode data = null;
            Node backing = null;
            try {
                String dataName = img.dataFile();
                if (dataName != null && (img.header().incompatibleFeatures()
                        & dev.q2.format.Features.INCOMPAT_DATA_FILE) != 0) {
                    ImageFile df = openFile(dataName);
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
                if (backingName != null && !backingName.isEmpty()) {
                    String full = CreatePlanner.combinedName(name, backingName);
                    try {
                        backing = openImage(full, img.backingFormat(), true);
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
            throw new ImageException("The 'file' block driver requires a file name");
        }
        Path path = workDir.resolve(name);
        if (Files.isDirectory(path)) {
            throw new ImageException("'file' driver requires '" + name + "' to be a regular file");
        }
        try {
            return ImageFile.openReadOnly(path);
        } catch (IOException e) {
            throw new ImageException("Could not open '" + name + "': " + describe(e), e);
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

    private static String describe(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "No such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "Permission denied";
        }
        if (e instanceof FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (QemuLock l : locks) {
            try {
                l.close();
            } catch (IOException e) {
                first = e;
            }
        }
        if (top != null) {
            try {
                top.close();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
