package dev.q2.image;

import dev.q2.format.L2Entry;
import dev.q2.format.SubclusterBitmap;
import dev.q2.format.SubclusterType;

import java.io.IOException;

/**
 * Seam: block status of this layer (qcow2.c's qcow2_co_block_status over qcow2-cluster.c's qcow2_get_host_offset):
 * runs of (sub)clusters of one kind, and whether guest bytes certainly read as zeros.
 */
final class BlockStatusReader {
    /** Kinds of allocation unit (a cluster, or a subcluster with extended L2), as QEMU tells them apart. */
    enum UnitKind {
        UNALLOCATED, UNALLOCATED_ALLOC, NORMAL, ZERO_PLAIN, ZERO_ALLOC, COMPRESSED,
        /** A unit whose entry QEMU finds corrupt, met after the first unit of a query: the run ends before it. */
        CORRUPT;

        /** Whether the unit holds no guest data of its own (reads from the backing file, or as zeros). */
        boolean holdsNoData() {
            return this == UNALLOCATED || this == UNALLOCATED_ALLOC || this == ZERO_PLAIN || this == ZERO_ALLOC;
        }
    }

    /** A unit's kind and its host offset (-1 where it has none). */
    record Unit(UnitKind kind, long host) {
    }

    private final DiskState disk;
    private final ClusterMapper mapper;

    BlockStatusReader(DiskState disk, ClusterMapper mapper) {
        this.disk = disk;
        this.mapper = mapper;
    }

    /** The bits of the subclusters that bytes [from, to) of a cluster touch (from &lt; to). */
    long subclusterRange(int from, int to) {
        int first = (int) (from / disk.subclusterSize);
        int last = (int) ((to - 1) / disk.subclusterSize);
        long range = 0;
        for (int subcluster = first; subcluster <= last; subcluster++) {
            range |= 1L << subcluster;
        }
        return range;
    }

    /**
     * The unit holding guest offset {@code guest}. As in QEMU's qcow2_get_host_offset, the first unit of a query
     * fails on any corruption of its entry, later ones only on an invalid subcluster bitmap (the others end the
     * run, and the next query fails).
     */
    Unit unitAt(long guest, boolean first) throws IOException {
        long clusterIndex = disk.clusterIndex(guest);
        ClusterMapper.Mapping m = first ? mapper.checkedLookup(clusterIndex) : mapper.lookup(clusterIndex);
        if (!first && disk.offsetInCluster(guest) == 0) { // later subclusters of a cluster: its entry is checked
            String bad = mapper.corruption(clusterIndex, m);
            if (bad != null) {
                if (SubclusterType.of(m.entry(), m.bitmap(), 0, disk.extendedL2, disk.externalData)
                        == SubclusterType.INVALID) {
                    throw disk.header.corrupt(bad);
                }
                return new Unit(UnitKind.CORRUPT, -1);
            }
        }
        L2Entry.Type type = mapper.type(m.entry());
        long host = L2Entry.hostOffset(m.entry());
        if (type == L2Entry.Type.COMPRESSED) {
            return new Unit(UnitKind.COMPRESSED, -1);
        }
        if (!disk.extendedL2) {
            return switch (type) {
                case NORMAL -> new Unit(UnitKind.NORMAL, host);
                case ZERO_ALLOC -> new Unit(UnitKind.ZERO_ALLOC, host);
                case ZERO_PLAIN -> new Unit(UnitKind.ZERO_PLAIN, -1);
                default -> new Unit(UnitKind.UNALLOCATED, -1);
            };
        }
        int subcluster = (int) (disk.offsetInCluster(guest) / disk.subclusterSize);
        boolean hasHost = type == L2Entry.Type.NORMAL || type == L2Entry.Type.ZERO_ALLOC;
        long subclusterHost = hasHost ? host + subcluster * disk.subclusterSize : -1;
        return switch (ReadPath.subclusterRead(m.bitmap(), subcluster)) {
            case ALLOCATED -> new Unit(UnitKind.NORMAL, subclusterHost);
            case ZERO -> hasHost ? new Unit(UnitKind.ZERO_ALLOC, subclusterHost) : new Unit(UnitKind.ZERO_PLAIN, -1);
            default -> hasHost ? new Unit(UnitKind.UNALLOCATED_ALLOC, subclusterHost)
                    : new Unit(UnitKind.UNALLOCATED, -1);
        };
    }

    /**
     * This layer's status as qcow2's block status gives it: a run of units of one kind (allocated ones at
     * consecutive host offsets) within one L2 table; a compressed cluster is a run of its own.
     */
    BlockDevice.Layered layerStatus(long offset, long length) throws IOException {
        disk.header.requireUsable();
        long size = disk.size;
        if (offset >= size) {
            return new BlockDevice.Layered(length, BlockDevice.Kind.ZERO);
        }
        long unit = disk.subclusterSize;
        long tableSpan = disk.geometry.bytesPerTable();
        long end = Math.min(Math.min(offset + length, size), (offset / tableSpan + 1) * tableSpan);
        Unit first = unitAt(offset, true);
        long firstUnit = offset - offset % unit;
        long pos = firstUnit + unit;
        while (pos < end && first.kind() != UnitKind.COMPRESSED) {
            Unit next = unitAt(pos, false);
            if (next.kind() != first.kind() || (first.host() >= 0 && next.host() != first.host() + (pos - firstUnit))) {
                break;
            }
            pos += unit;
        }
        long len = Math.min(pos, end) - offset;
        BlockDevice backing = disk.backing;
        BlockDevice.Kind kind = switch (first.kind()) {
            case NORMAL, COMPRESSED -> BlockDevice.Kind.DATA;
            case ZERO_PLAIN, ZERO_ALLOC -> BlockDevice.Kind.ZERO;
            default -> backing == null || offset >= backing.size() ? BlockDevice.Kind.ZERO : BlockDevice.Kind.BACKING;
        };
        return new BlockDevice.Layered(len, kind);
    }

    /** Whether guest bytes [offset, offset+len) of {@code top} (this layer) read as zeros, by chain status. */
    boolean readsAsZero(BlockDevice top, long offset, long len) throws IOException {
        long left = Math.min(len, disk.size - offset);
        long pos = offset;
        while (left > 0) {
            BlockDevice.Layered l = BlockDevice.chainStatus(top, pos, left);
            if (l.kind() != BlockDevice.Kind.ZERO || l.length() <= 0) {
                return false;
            }
            pos += l.length();
            left -= l.length();
        }
        return true;
    }
}
