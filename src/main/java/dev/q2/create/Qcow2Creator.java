package dev.q2.create;

import dev.q2.format.L2Geometry;
import dev.q2.format.Features;
import dev.q2.format.HeaderCluster;
import dev.q2.format.HeaderExtension;
import dev.q2.format.QcowHeader;
import dev.q2.image.RefcountAllocator;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a new qcow2 image the way qemu-img create does (qcow2_co_create followed by the truncate to the virtual
 * size): header cluster, refcount table and first refcount block, then the L1 table allocated through the refcount
 * allocator, then any preallocation. Following QEMU's steps and allocator makes the file identical to qemu-img's.
 */
public final class Qcow2Creator {
    private Qcow2Creator() {
    }

    /**
     * Creates (or overwrites) {@code path} from a checked spec; an external data file named relatively is created in
     * the process's working folder, as QEMU creates it.
     */
    public static void create(Path path, CreateSpec spec) throws IOException {
        create(path, spec, Path.of("").toAbsolutePath());
    }

    /**
     * Creates (or overwrites) {@code path} from a checked spec; an external data file named relatively is created in
     * {@code workDir} (QEMU's rule: {@link dev.q2.format.ChildNames#dataFile}).
     */
    public static void create(Path path, CreateSpec spec, Path workDir) throws IOException {
        dev.q2.util.Diagnostics.info(Qcow2Creator.class, "creating {}: {} bytes, {}-byte clusters, version {},"
                + " {}-bit refcounts, preallocation {}", path, spec.size(), spec.clusterSize(), spec.version(),
                1 << spec.refcountOrder(), spec.preallocation().optionValue());
        Path dataPath = spec.dataFile() == null ? null
                : dev.q2.format.ChildNames.dataFile(workDir, spec.dataFile());
        if (dataPath != null) {
            Files.deleteIfExists(dataPath);
            Files.createFile(dataPath);
            try (ImageFile data = ImageFile.openReadWrite(dataPath)) {
                data.setLength(spec.size());
            }
        }
        if (!Files.exists(path)) {
            Files.createFile(path);
        }
        try (ImageFile f = ImageFile.openReadWrite(path)) {
            f.setLength(0);
            write(f, spec, dataPath);
            f.flush();
        }
    }

    /**
     * Creates an image in a storage (memory, or an application's own), replacing what it holds. The storage stays
     * open. Images with an external data file need a path ({@link #create(Path, CreateSpec)}).
     *
     * @param storage where the image goes; writable
     * @param spec the checked spec, without a data file
     * @throws IOException when the storage cannot be written
     */
    public static void create(dev.q2.io.Storage storage, CreateSpec spec) throws IOException {
        if (spec.dataFile() != null) {
            throw new dev.q2.Q2Exception(dev.q2.Q2Exception.Category.UNSUPPORTED,
                    "An image with an external data file must be created at a path");
        }
        ImageFile f = new ImageFile(storage);
        f.setLength(0);
        write(f, spec, null);
        f.flush();
    }

    private static void write(ImageFile f, CreateSpec spec, Path dataPath) throws IOException {
        long cs = spec.clusterSize();
        long incompat = 0;
        if (spec.dataFile() != null) {
            incompat |= Features.INCOMPAT_DATA_FILE;
        }
        if (spec.extendedL2()) {
            incompat |= Features.INCOMPAT_EXTL2;
        }
        if (spec.compressionType() != QcowHeader.COMPRESSION_ZLIB) {
            incompat |= Features.INCOMPAT_COMPRESSION;
        }
        long compat = spec.lazyRefcounts() ? Features.COMPAT_LAZY_REFCOUNTS : 0;
        long autoclear = spec.dataFileRaw() ? Features.AUTOCLEAR_DATA_FILE_RAW : 0;
        int headerLength = spec.version() == 2 ? QcowHeader.V2_HEADER_LENGTH : QcowHeader.V3_HEADER_LENGTH;
        QcowHeader header = new QcowHeader(spec.version(), 0, 0, spec.clusterBits(), 0, 0, 0, 0, cs, 1, 0, 0,
                incompat, compat, autoclear, spec.refcountOrder(), headerLength, spec.compressionType());

        // Clusters 0-2: header, refcount table, first refcount block (written whole, as QEMU does).
        writeHeader(f, header, spec, false);
        ByteBuffer tables = ByteBuffer.allocate((int) (2 * cs)).order(ByteOrder.BIG_ENDIAN);
        tables.putLong(0, 2 * cs);
        f.writeFully(cs, tables);
        long[] reftable = new long[(int) (cs / 8)];
        reftable[0] = 2 * cs;
        RefcountAllocator refcounts = new RefcountAllocator(f, spec.clusterBits(), spec.refcountOrder(), cs, reftable);
        refcounts.allocClusters(3 * cs);
        refcounts.flush();

        // Grow the L1 table to the virtual size (qcow2_grow_l1_table with exact size).
        long l1Entries = spec.l1Entries();
        long l1Offset = 0;
        long[] l1 = new long[(int) l1Entries];
        if (l1Entries > 0) {
            l1Offset = refcounts.allocClusters(l1Entries * 8);
            f.writeFully(l1Offset, ByteBuffer.allocate((int) (l1Entries * 8)));
        }

        switch (spec.preallocation()) {
            case METADATA -> {
                long end = preallocateMetadata(f, refcounts, spec, l1, l1Offset, dataPath);
                extendTo(dataPath, f, end);
            }
            case FALLOC, FULL -> preallocateData(f, refcounts, spec, l1, l1Offset, dataPath);
            default -> {
            }
        }
        refcounts.flush();

        header = header.withL1(l1Offset, (int) l1Entries).withSize(spec.size())
                .withRefcountTable(refcounts.tableOffset(), refcounts.tableClusters());
        writeHeader(f, header, spec, true);
    }

    /** qcow2_co_truncate's falloc/full path: refcount structures for everything first, then one data area. */
    private static void preallocateData(ImageFile f, RefcountAllocator refcounts, CreateSpec spec, long[] l1,
                                        long l1Offset, Path dataPath) throws IOException {
        long cs = spec.clusterSize();
        if (dataPath != null) {
            // With a data file QEMU maps guest offsets 1:1 and preallocates the data file itself.
            long end = preallocateMetadata(f, refcounts, spec, l1, l1Offset, dataPath);
            try (ImageFile data = ImageFile.openReadWrite(dataPath)) {
                data.fillZeros(0, Math.max(end, data.size()));
            }
            return;
        }
        long lastCluster = lastAllocatedCluster(refcounts, f.size(), cs);
        long oldFileSize = lastCluster >= 0 ? (lastCluster + 1) * cs : ((f.size() + cs - 1) / cs) * cs;
        long nbData = (spec.size() + cs - 1) / cs;
        long entries = L2Geometry.entriesPerTable(cs, spec.extendedL2());
        long nbL2 = (nbData + entries - 1) / entries + 1;
        long allocationStart = refcounts.refcountArea(oldFileSize, nbData + nbL2, true, 0, 0);
        long got = refcounts.allocClustersAt(allocationStart, nbData);
        if (got != nbData) {
            throw new IOException("preallocation could not reserve " + nbData + " clusters");
        }
        refcounts.flush();
        f.fillZeros(allocationStart, allocationStart + nbData * cs);
        var pre = new MetadataPreallocator(f, refcounts, spec, l1, l1Offset);
        pre.linkAll(0, allocationStart, nbData);
    }

    /** preallocate_co: maps every cluster, copies zeros into the tail of a partial last cluster. */
    private static long preallocateMetadata(ImageFile f, RefcountAllocator refcounts, CreateSpec spec, long[] l1,
                                            long l1Offset, Path dataPath) throws IOException {
        var pre = new MetadataPreallocator(f, refcounts, spec, l1, l1Offset);
        long end = pre.preallocate(0, spec.size());
        refcounts.flush();
        long tail = pre.tailCowBytes(spec.size());
        if (tail > 0) {
            writeZeros(dataPath, f, end, tail);
        }
        return end;
    }

    private static long lastAllocatedCluster(RefcountAllocator refcounts, long fileSize, long cs) throws IOException {
        for (long i = (fileSize + cs - 1) / cs - 1; i >= 0; i--) {
            if (refcounts.refcount(i) > 0) {
                return i;
            }
        }
        return -1;
    }


    private static void writeZeros(Path dataPath, ImageFile f, long at, long length) throws IOException {
        if (dataPath != null) {
            try (ImageFile data = ImageFile.openReadWrite(dataPath)) {
                data.writeFully(at, ByteBuffer.allocate((int) length));
            }
        } else {
            f.writeFully(at, ByteBuffer.allocate((int) length));
        }
    }

    private static void extendTo(Path dataPath, ImageFile f, long end) throws IOException {
        if (dataPath != null) {
            try (ImageFile data = ImageFile.openReadWrite(dataPath)) {
                if (data.size() < end) {
                    data.setLength(end);
                }
            }
        } else if (f.size() < end) {
            f.setLength(end);
        }
    }

    private static void writeHeader(ImageFile f, QcowHeader header, CreateSpec spec, boolean withBacking)
            throws IOException {
        List<HeaderExtension> exts = new ArrayList<>();
        if (withBacking && spec.backingFormat() != null) {
            exts.add(HeaderExtension.ofString(HeaderExtension.BACKING_FORMAT, spec.backingFormat()));
        }
        if (spec.dataFile() != null) {
            exts.add(HeaderExtension.ofString(HeaderExtension.EXTERNAL_DATA_FILE, spec.dataFile()));
        }
        ByteBuffer cluster = HeaderCluster.encode(header, HeaderCluster.canonicalOrder(header, exts),
                withBacking ? spec.backingFile() : null);
        f.writeFully(0, cluster);
    }
}
