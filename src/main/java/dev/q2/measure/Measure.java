package dev.q2.measure;

import dev.q2.format.L2Geometry;
import dev.q2.cache.L2CacheSizing;
import dev.q2.create.CreateException;
import dev.q2.create.CreateOptions;
import dev.q2.create.CreatePlanner;
import dev.q2.format.BitmapDirectoryEntry;
import dev.q2.format.Limits;
import dev.q2.format.RefcountBlock;
import dev.q2.image.Qcow2Metadata;
import dev.q2.block.BlockStatus;
import dev.q2.block.BlockGraph;
import dev.q2.util.Sizes;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * qemu-img measure for a qcow2 or raw target: the file size a new image needs, from a virtual size alone or from
 * the contents of a source disk (its whole backing chain, walked by the block status that map and compare use,
 * QEMU's bdrv_block_status_above), as QEMU 7.2 computes it
 * (block/qcow2.c qcow2_measure and qcow2_calc_prealloc_size, block/raw-format.c raw_measure,
 * block/qcow2-bitmap.c qcow2_get_persistent_dirty_bitmap_size). The options are checked in QEMU's order, so the
 * first refusal is the one qemu-img shows.
 */
public final class Measure {
    /** Formats q2 measures. */
    public static final Set<String> FORMATS = Set.of("qcow2", "raw");

    private static final long MIN_CLUSTER = 512;
    private static final long MAX_CLUSTER = 2L << 20;
    private static final int BITMAP_TABLE_ENTRY = 8;

    private Measure() {
    }

    /**
     * The -o option names qemu-img measure accepts for {@code format}: the format's create options and those of
     * the file protocol (QEMU appends both lists).
     */
    public static Set<String> optionNames(String format) {
        Set<String> names = new HashSet<>(CreatePlanner.FILE_PROTOCOL_OPTIONS);
        if (format.equals("qcow2")) {
            names.addAll(CreatePlanner.qcow2Options());
        }
        return names;
    }

    /** Parses one -o argument for {@code format} into {@code into}, with create's parser and qemu's messages. */
    public static void parseOptions(String format, String text, CreateOptions into) throws CreateException {
        CreatePlanner.parseOptions(text, into, optionNames(format));
    }

    /**
     * Measures a new image of {@code format} ("qcow2" or "raw") with the create {@code options} (their "size" is
     * the virtual size when there is no source), for the contents of {@code source}, or for an empty disk when it
     * is null.
     */
    public static MeasureResult measure(String format, CreateOptions options, BlockGraph source)
            throws MeasureException, IOException {
        return switch (format) {
            case "raw" -> raw(options, source);
            case "qcow2" -> qcow2(options, source);
            default -> throw new MeasureException("Block driver '" + format + "' does not support size measurement");
        };
    }

    private static MeasureResult raw(CreateOptions options, BlockGraph source) {
        long required = source != null ? source.length() : roundUp(size(options.get("size"), 0), 512);
        return new MeasureResult(required, required, null, null);
    }

    private static MeasureResult qcow2(CreateOptions o, BlockGraph source) throws MeasureException, IOException {
        boolean extendedL2 = bool(o.get("extended_l2"));
        long cs = size(o.get("cluster_size"), 65536);
        if (cs < MIN_CLUSTER || cs > MAX_CLUSTER || Long.bitCount(cs) != 1) {
            throw new MeasureException("Cluster size must be a power of two between 512 and 2048k");
        }
        if (extendedL2 && cs < 16384) {
            throw new MeasureException(
                    "Extended L2 entries are only supported with cluster sizes of at least 16384 bytes");
        }
        int version = 3;
        String compat = o.get("compat");
        if (compat != null) {
            // only the numeric spellings: "v2" and "v3" are create's aliases, not measure's
            version = switch (compat) {
                case "0.10" -> 2;
                case "1.1" -> 3;
                default -> throw new MeasureException("Invalid compatibility level: '" + compat + "'");
            };
        }
        long refcountBits = number(o.get("refcount_bits"), 16);
        if (Long.compareUnsigned(refcountBits, 64) > 0 || Long.bitCount(refcountBits) != 1) {
            throw new MeasureException("Refcount width must be a power of two and may not exceed 64 bits");
        }
        if (version < 3 && refcountBits != 16) {
            throw new MeasureException("Different refcount widths than 16 bits require compatibility level 1.1 or"
                    + " above (use compat=1.1 or greater)");
        }
        String prealloc = o.get("preallocation") == null ? "off" : o.get("preallocation");
        if (!Set.of("off", "metadata", "falloc", "full").contains(prealloc)) {
            throw new MeasureException("invalid parameter value: " + prealloc);
        }
        boolean hasBacking = o.get("backing_file") != null;
        if ("luks".equals(o.get("encrypt.format"))) {
            // QEMU computes the LUKS header size once it has the secret; q2 takes no secrets (no --object)
            String secret = o.get("encrypt.key-secret");
            throw new MeasureException(secret == null ? "Parameter 'encrypt.key-secret' is required for cipher"
                    : "No secret with id '" + secret + "'");
        }
        int entry = L2Geometry.entrySize(extendedL2);
        long virtualSize = roundUp(size(o.get("size"), 0), cs);
        long l2Tables = divRoundUp(Long.divideUnsigned(virtualSize, cs), cs / entry);
        if (Long.compareUnsigned(l2Tables, Limits.MAX_L1_SIZE / 8) > 0) {
            throw new MeasureException("The image size is too large (try using a larger cluster size)");
        }
        long required = 0;
        long plannedSize = roundUp(size(o.get("size"), 0), 512);
        if (source != null) {
            long ssize = source.length();
            plannedSize = ssize;
            virtualSize = roundUp(ssize, cs);
            required = hasBacking ? virtualSize : allocatedBytes(source, ssize, cs);
        }
        if (prealloc.equals("full") || prealloc.equals("falloc")) {
            required = virtualSize;
        }
        long fully = preallocSize(virtualSize, cs, Long.numberOfTrailingZeros(refcountBits), extendedL2);
        Long bitmaps = null;
        Qcow2Metadata top = source == null ? null : source.topImage();
        if (version >= 3 && top != null && top.header().version() >= 3) {
            // the bitmaps QEMU loads at open: every one in the top image's directory
            bitmaps = bitmapsSize(top.bitmaps() == null ? List.of() : top.bitmaps(), source.length(), cs);
        }
        return new MeasureResult(fully - virtualSize + required, fully, bitmaps,
                new L2CacheSizing(plannedSize, cs, extendedL2));
    }

    /**
     * Bytes of whole target clusters that hold data of the source: QEMU's walk over bdrv_block_status_above, which
     * skips what reads as zeros and counts every cluster (of the target's size) that a data run touches.
     */
    static long allocatedBytes(BlockGraph source, long ssize, long cs) throws IOException {
        long required = 0;
        long offset = 0;
        while (offset < ssize) {
            BlockStatus.Run run = source.statusAbove(offset, ssize - offset);
            long pnum = Math.min(run.length(), ssize - offset);
            if (pnum <= 0) {
                throw new IOException("Unable to get block status");
            }
            if (!run.has(BlockStatus.ZERO) && run.has(BlockStatus.DATA) && run.has(BlockStatus.ALLOCATED)) {
                pnum = roundUp(offset + pnum, cs) - offset; // the rest of the last cluster comes with it
                required += offset % cs + pnum;
            }
            offset += pnum;
        }
        return required;
    }

    /**
     * qcow2_calc_prealloc_size: a header cluster, L2 tables for every cluster, the L1 table in whole clusters, the
     * refcount structures for all of it, and the data.
     */
    public static long preallocSize(long totalSize, long cs, int refcountOrder, boolean extendedL2) {
        long entry = L2Geometry.entrySize(extendedL2);
        long aligned = roundUp(totalSize, cs);
        long meta = cs;
        long nl2e = roundUp(aligned / cs, cs / entry);
        meta += nl2e * entry;
        long nl1e = roundUp(nl2e * entry / cs, cs / 8);
        meta += nl1e * 8;
        meta += refcountMetadataSize((meta + aligned) / cs, cs, refcountOrder);
        return meta + aligned;
    }

    /** qcow2_refcount_metadata_size without the generous increase: the fixed point of blocks and table. */
    static long refcountMetadataSize(long clusters, long cs, int refcountOrder) {
        long[] blocksAndTable = RefcountBlock.metadataClusters(clusters, cs, cs * 8 / (1L << refcountOrder), false);
        return (blocksAndTable[0] + blocksAndTable[1]) * cs;
    }

    /**
     * qcow2_get_persistent_dirty_bitmap_size: every bitmap fully allocated in target clusters, its bitmap table in
     * whole clusters, and the directory entries (name, no extra data) rounded up to a cluster.
     */
    static long bitmapsSize(List<BitmapDirectoryEntry> bitmaps, long diskSize, long cs) {
        long total = 0;
        long directory = 0;
        for (BitmapDirectoryEntry b : bitmaps) {
            long bits = divRoundUp(diskSize, b.granularity());
            long bytes = divRoundUp(bits, 8);
            long clusters = divRoundUp(bytes, cs);
            total += clusters * cs;
            total += roundUp(clusters * BITMAP_TABLE_ENTRY, cs);
            directory += roundUp(BitmapDirectoryEntry.FIXED_SIZE
                    + b.name().getBytes(StandardCharsets.UTF_8).length, 8);
        }
        return total + roundUp(directory, cs);
    }

    private static boolean bool(String v) {
        return v != null && Set.of("on", "yes", "true", "y").contains(v);
    }

    /** A size option as QEMU parses it (already checked by the option parser), or {@code fallback}. */
    private static long size(String v, long fallback) {
        if (v == null) {
            return fallback;
        }
        try {
            return Sizes.parse(v).value();
        } catch (Sizes.SizeFormatException e) {
            return fallback; // the option parser has refused it already
        }
    }

    /** A number option as qemu_strtou64 with base 0 reads it (leading 0: octal); unsigned. */
    private static long number(String v, long fallback) {
        if (v == null) {
            return fallback;
        }
        try {
            if (v.length() > 1 && v.startsWith("0")) {
                return Long.parseUnsignedLong(v.substring(1), 8);
            }
            return Long.parseUnsignedLong(v);
        } catch (NumberFormatException e) {
            return -1; // too large: refused as a width above 64
        }
    }

    /** Rounds up to a multiple of the power of two {@code align}, as an unsigned 64-bit value. */
    static long roundUp(long v, long align) {
        return (v + align - 1) & -align;
    }

    private static long divRoundUp(long a, long b) {
        return Long.divideUnsigned(a, b) + (Long.remainderUnsigned(a, b) != 0 ? 1 : 0);
    }
}
