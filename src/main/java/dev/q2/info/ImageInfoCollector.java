package dev.q2.info;

import dev.q2.cache.L2CacheSizing;
import dev.q2.format.BitmapDirectoryEntry;
import dev.q2.format.Features;
import dev.q2.format.LuksAlgorithms;
import dev.q2.format.LuksHeader;
import dev.q2.format.QcowHeader;
import dev.q2.format.SnapshotEntry;
import dev.q2.image.Devices;
import dev.q2.image.Encryption;
import dev.q2.image.ImageException;
import dev.q2.image.Qcow2Metadata;
import dev.q2.io.ImageFile;
import dev.q2.io.QemuLock;
import dev.q2.probe.ForeignHeader;
import dev.q2.probe.FormatProber;
import dev.q2.util.QDict;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Collects {@link ImageInfo} for an image and, on request, its backing chain, the way qemu-img info does:
 * read-only, with QEMU's locks unless force-share is asked for, and without opening backing files unless the chain
 * is wanted.
 */
public final class ImageInfoCollector {
    private ImageInfoCollector() {
    }

    /**
     * Info for one image.
     *
     * @param filename the name as the user gave it (printed as is)
     * @param format "qcow2", "raw", a format {@link FormatProber} names, or null to probe
     */
    public static ImageInfo collect(Path workDir, String filename, String format, boolean forceShare)
            throws IOException {
        Path path = workDir.resolve(filename);
        try (ImageFile f = ImageFile.openReadOnly(path);
             QemuLock lock = forceShare ? null
                     : QemuLock.acquire(f.channel(), path, 0,
                     QemuLock.PERM_ALL & ~(QemuLock.PERM_WRITE | QemuLock.PERM_RESIZE))) {
            String fmt = format != null ? format : Devices.probe(f);
            if (fmt.equals("raw")) {
                return raw(filename, f);
            }
            if (FormatProber.FOREIGN.contains(fmt)) {
                return foreign(filename, f, FormatProber.readHeader(f, fmt));
            }
            if (!fmt.equals("qcow2")) {
                throw new ImageException("Unknown driver '" + fmt + "'");
            }
            return qcow2(filename, Qcow2Metadata.loadMetadata(f));
        }
    }

    /** Info for an image and every image below it, top first. */
    public static List<ImageInfo> collectChain(Path workDir, String filename, String format, boolean forceShare)
            throws IOException {
        List<ImageInfo> out = new ArrayList<>();
        List<String> seen = new ArrayList<>();
        String name = filename;
        String fmt = format;
        while (name != null) {
            String canonical = workDir.resolve(name).toAbsolutePath().normalize().toString();
            if (seen.contains(canonical)) {
                throw new BackingLoopException(name);
            }
            seen.add(canonical);
            ImageInfo info = collect(workDir, name, fmt, forceShare);
            out.add(info);
            name = info.fullBackingFilename();
            fmt = info.backingFormat();
            if (name != null && dev.q2.format.ChildNames.hasProtocol(name)) {
                // file: and json: names as QEMU reads them, within q2's rule for names an image holds
                dev.q2.block.ImageName stored = dev.q2.block.ImageName.stored(name);
                name = stored.filename();
                fmt = stored.format() != null ? stored.format() : fmt;
            }
        }
        return out;
    }

    private static ImageInfo raw(String filename, ImageFile f) throws IOException {
        QDict q = base(filename, "raw", f);
        q.put("virtual-size", (f.size() + 511) & ~511L); // the block layer's whole sectors: a partial one counts
        q.put("dirty-flag", false);
        return new ImageInfo(q, null, 0);
    }

    /**
     * A format q2 names but does not process: what its header says, in qemu-img's key order, from this file alone
     * (the actual size is this file's, not that of the extents a VMDK descriptor names).
     */
    private static ImageInfo foreign(String filename, ImageFile f, ForeignHeader h) throws IOException {
        QDict q = base(filename, h.format(), f);
        q.put("virtual-size", h.virtualSize());
        if (h.clusterSize() != null) {
            q.put("cluster-size", h.clusterSize());
        }
        if (h.backingFile() != null && !h.backingFile().isEmpty()) {
            q.put("backing-filename", h.backingFile());
            q.put("full-backing-filename", fullBackingFilename(filename, h.backingFile()));
            if (h.backingFormat() != null) {
                q.put("backing-filename-format", h.backingFormat());
            }
        }
        if (!h.format().equals("luks") && !h.format().equals("parallels")) {
            q.put("dirty-flag", false); // qemu-img shows it where the driver answers bdrv_get_info
        }
        return new ImageInfo(q, null, 0);
    }

    private static QDict base(String filename, String format, ImageFile f) throws IOException {
        QDict q = new QDict();
        q.put("filename", filename);
        q.put("format", format);
        q.put("actual-size", DiskUsage.allocatedBytes(f.path()));
        return q;
    }

    private static ImageInfo qcow2(String filename, Qcow2Metadata img) throws IOException {
        QcowHeader h = img.header();
        QDict q = base(filename, "qcow2", img.file());
        q.put("dirty-flag", h.hasFeature(Features.INCOMPAT_DIRTY));
        q.put("virtual-size", h.size() & ~511L); // QEMU's qcow2 driver drops a partial last sector
        q.put("cluster-size", h.clusterSize());
        if (h.cryptMethod() != 0) {
            q.put("encrypted", true);
        }
        String backing = img.backingFile();
        if (backing != null && !backing.isEmpty()) {
            q.put("backing-filename", backing);
            q.put("full-backing-filename", fullBackingFilename(filename, backing));
            q.put("backing-filename-format", img.backingFormat());
        }
        if (!img.snapshots().isEmpty()) {
            List<Object> snaps = new ArrayList<>();
            for (SnapshotEntry s : img.snapshots()) {
                snaps.add(snapshot(s));
            }
            q.put("snapshots", snaps);
        }
        QDict spec = new QDict();
        spec.put("type", "qcow2");
        spec.put("data", formatSpecific(img));
        q.put("format-specific", spec);
        L2CacheSizing sizing = new L2CacheSizing(h.size(), h.clusterSize(), h.extendedL2());
        return new ImageInfo(q, sizing, img.allocatedL2Tables());
    }

    /** A relative backing name is relative to the folder of the image that names it. */
    static String fullBackingFilename(String imageFilename, String backing) {
        return dev.q2.create.CreatePlanner.combinedName(imageFilename, backing);
    }

    private static QDict snapshot(SnapshotEntry s) {
        QDict d = new QDict();
        d.put("id", s.id());
        d.put("name", s.name());
        d.put("vm-state-size", s.vmStateSize());
        d.put("date-sec", s.dateSec());
        d.put("date-nsec", s.dateNsec());
        d.put("vm-clock-sec", s.vmClockNsec() / 1_000_000_000L);
        d.put("vm-clock-nsec", s.vmClockNsec() % 1_000_000_000L);
        if (s.icount() != -1) {
            d.put("icount", s.icount());
        }
        return d;
    }

    private static QDict formatSpecific(Qcow2Metadata img) {
        QcowHeader h = img.header();
        QDict d = new QDict();
        if (h.version() == 2) {
            d.put("compat", "0.10");
            d.put("refcount-bits", h.refcountBits());
            d.put("encrypt", encrypt(img.encryption()));
        } else {
            d.put("compat", "1.1");
            d.put("lazy-refcounts", (h.compatibleFeatures() & Features.COMPAT_LAZY_REFCOUNTS) != 0);
            d.put("corrupt", h.hasFeature(Features.INCOMPAT_CORRUPT));
            d.put("extended-l2", h.extendedL2());
            d.put("refcount-bits", h.refcountBits());
            d.put("encrypt", encrypt(img.encryption()));
            if (!img.bitmaps().isEmpty()) {
                List<Object> list = new ArrayList<>();
                for (BitmapDirectoryEntry b : img.bitmaps()) {
                    QDict bm = new QDict();
                    bm.put("name", b.name());
                    bm.put("granularity", b.granularity());
                    List<Object> flags = new ArrayList<>();
                    if (b.inUse()) {
                        flags.add("in-use");
                    }
                    if (b.auto()) {
                        flags.add("auto");
                    }
                    bm.put("flags", flags);
                    list.add(bm);
                }
                d.put("bitmaps", list);
            }
            boolean hasDataFile = h.hasFeature(Features.INCOMPAT_DATA_FILE);
            d.put("data-file", img.dataFile());
            if (hasDataFile) {
                d.put("data-file-raw", (h.autoclearFeatures() & Features.AUTOCLEAR_DATA_FILE_RAW) != 0);
            }
        }
        d.put("compression-type", h.compressionType() == QcowHeader.COMPRESSION_ZSTD ? "zstd" : "zlib");
        return d;
    }

    /**
     * ImageInfoSpecificQCow2Encryption: the format, and for LUKS QCryptoBlockInfoLUKS, members put in the QAPI
     * schema's order (which decides the order of keys that share a QDict bucket). Key slots report iterations and
     * stripes only when active.
     */
    private static QDict encrypt(Encryption e) {
        if (e == null) {
            return null;
        }
        QDict d = new QDict();
        d.put("format", e.format());
        LuksHeader luks = e.luks();
        if (luks == null) {
            return d;
        }
        LuksAlgorithms a = e.algorithms();
        d.put("cipher-alg", a.cipherAlg());
        d.put("cipher-mode", a.cipherMode());
        d.put("ivgen-alg", a.ivgenAlg());
        d.put("ivgen-hash-alg", a.ivgenHashAlg());
        d.put("hash-alg", a.hashAlg());
        d.put("payload-offset", luks.payloadOffsetBytes());
        d.put("master-key-iters", luks.mkDigestIter());
        d.put("uuid", luks.uuid());
        List<Object> slots = new ArrayList<>();
        for (LuksHeader.KeySlot s : luks.keySlots()) {
            QDict slot = new QDict();
            slot.put("active", s.isActive());
            if (s.isActive()) {
                slot.put("iters", s.iterations());
                slot.put("stripes", s.stripes());
            }
            slot.put("key-offset", s.keyMaterialOffsetBytes());
            slots.add(slot);
        }
        d.put("slots", slots);
        return d;
    }

    /**
     * A chain that names an image twice (qemu-img info's own check, worded by itself: no "Could not open" before it,
     * iotest 043).
     */
    public static final class BackingLoopException extends ImageException {
        private static final long serialVersionUID = 1L;

        BackingLoopException(String name) {
            super("Backing file '" + name + "' creates an infinite loop.");
        }
    }
}
