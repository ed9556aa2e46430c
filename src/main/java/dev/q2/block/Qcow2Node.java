package dev.q2.block;

import dev.q2.format.L1Entry;
import dev.q2.format.L2Corruption;
import dev.q2.format.L2Entry;
import dev.q2.format.L2Geometry;
import dev.q2.format.QcowHeader;
import dev.q2.format.RefcountBlock;
import dev.q2.format.SubclusterType;
import dev.q2.image.CorruptMetadataException;
import dev.q2.image.ImageException;
import dev.q2.image.Qcow2Metadata;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A qcow2 node answering block-status queries as QEMU 7.2's qcow2 driver does: per (sub)cluster type, runs of
 * subclusters of one type with contiguous host clusters limited to one L2 table, compressed clusters one at a time,
 * host offsets for data, preallocated zero and unallocated-but-preallocated subclusters, and a recursion into the
 * file for data clusters of images it detects as metadata-preallocated.
 */
final class Qcow2Node extends Node {
    private final Qcow2Metadata image;
    private final FileNode file;
    private final Node dataFile; // a FileNode, or a DetachedFile when references are not followed
    private final Node backing;
    private final int clusterBits;
    private final long clusterSize;
    private final int l2Bits;
    private final int l2Size;
    private final boolean extended;
    private final int subclusterBits;
    private final int subclustersPerCluster;
    private final boolean hasDataFile;
    private long[] l1; // the active L1 table, or a snapshot's after loadSnapshot
    private final long length;
    private final boolean crypto;
    private final int version;

    private boolean preallocationChecked;
    private boolean metadataPreallocation;

    private final ByteBuffer l2Buffer;
    /** The cached L2 table, decoded: entries (standard), or entry and bitmap pairs (extended). */
    private final long[] l2Entries;
    private long l2OffsetCached = -1;

    // Out-values of hostOffset(): QEMU returns them through pointers.
    private SubclusterType type;
    private long hostOffset;

    Qcow2Node(String filename, Qcow2Metadata image, FileNode file, Node dataFile, Node backing) {
        super(filename);
        this.image = image;
        this.file = file;
        this.dataFile = dataFile;
        this.backing = backing;
        QcowHeader h = image.header();
        this.clusterBits = h.clusterBits();
        this.clusterSize = h.clusterSize();
        this.l2Bits = h.l2Bits();
        this.l2Size = 1 << l2Bits;
        this.extended = h.extendedL2();
        this.subclustersPerCluster = L2Geometry.subclustersPerCluster(extended);
        this.subclusterBits = h.l2Geometry().subclusterBits();
        this.hasDataFile = dataFile != null;
        this.l1 = image.l1Table();
        this.length = h.size() & ~511L; // qcow2 counts whole sectors of its virtual size
        this.crypto = h.cryptMethod() != 0;
        this.version = h.version();
        this.l2Buffer = ByteBuffer.allocateDirect((int) clusterSize).order(ByteOrder.BIG_ENDIAN);
        this.l2Entries = new long[(int) (clusterSize / 8)];
    }

    @Override
    long length() {
        return length;
    }

    Qcow2Metadata image() {
        return image;
    }

    /**
     * Reads an internal snapshot instead of the active image from now on, as QEMU's qcow2_snapshot_load_tmp: the
     * snapshot's L1 table replaces the active one; the length stays the image's.
     */
    void loadSnapshot(dev.q2.format.SnapshotEntry sn) throws IOException {
        l1 = image.snapshotL1Table(sn);
    }

    @Override
    boolean supportsBacking() {
        return true;
    }

    @Override
    Node backing() {
        return backing;
    }

    @Override
    int driverStatus(long offset, long count, BlockStatus.Result r) throws IOException {
        if (!preallocationChecked) {
            metadataPreallocation = detectMetadataPreallocation();
            preallocationChecked = true;
        }
        long bytes = Math.min(Integer.MAX_VALUE, count);
        r.pnum = hostOffset(offset, bytes);
        int status = 0;
        SubclusterType t = type;
        if (t.hasHostCluster() && !crypto) {
            r.map = hostOffset;
            r.file = hasDataFile ? dataFile : file;
            status |= BlockStatus.OFFSET_VALID;
        }
        if (t.zero()) {
            status |= BlockStatus.ZERO;
        } else if (t != SubclusterType.UNALLOCATED_PLAIN && t != SubclusterType.UNALLOCATED_ALLOC) {
            status |= BlockStatus.DATA;
        }
        if (metadataPreallocation && (status & BlockStatus.DATA) != 0 && (status & BlockStatus.OFFSET_VALID) != 0) {
            status |= BlockStatus.RECURSE;
        }
        return status;
    }

    /**
     * Type and host offset of the subcluster at {@code offset} (into {@link #type} and {@link #hostOffset}), and how
     * many bytes from {@code offset} (at most {@code bytes}) have the same type and contiguous host clusters.
     */
    private long hostOffset(long offset, long bytes) throws IOException {
        long offsetInCluster = offset & (clusterSize - 1);
        long bytesNeeded = bytes + offsetInCluster;
        int l2Index = (int) ((offset >>> clusterBits) & (l2Size - 1));
        long bytesAvailable = (long) (l2Size - l2Index) << clusterBits;
        if (bytesNeeded > bytesAvailable) {
            bytesNeeded = bytesAvailable;
        }
        hostOffset = 0;
        long l1Index = offset >>> (clusterBits + l2Bits);
        long l2Offset = l1Index < l1.length ? L1Entry.l2Offset(l1[(int) l1Index]) : 0;
        if (l2Offset == 0) {
            type = SubclusterType.UNALLOCATED_PLAIN;
        } else {
            String badTable = L2Corruption.l2Table(l2Offset, l1Index, clusterSize);
            if (badTable != null) {
                throw corrupt(badTable);
            }
            loadL2(l2Offset);
            int scIndex = (int) ((offset >>> subclusterBits) & (subclustersPerCluster - 1));
            long entry = entry(l2Index);
            long bitmap = bitmap(l2Index);
            long nbClusters = (bytesNeeded + clusterSize - 1) >>> clusterBits;
            SubclusterType t = subclusterType(entry, bitmap, scIndex);
            String bad = L2Corruption.entry(entry, bitmap, offset - offsetInCluster, l2Offset, l2Index, version,
                    extended, hasDataFile, clusterSize);
            if (bad != null) {
                throw corrupt(bad);
            }
            if (t == SubclusterType.COMPRESSED) {
                hostOffset = entry;
            } else if (t.hasHostCluster()) {
                hostOffset = (entry & L2Entry.OFFSET_MASK) + offsetInCluster;
            }
            type = t;
            int sc = contiguousSubclusters((int) nbClusters, scIndex, l2Index);
            if (sc < 0) {
                // QEMU names the invalid entry the scan met, not the first one
                throw corrupt(L2Corruption.invalid(l2Offset, invalidIndex));
            }
            bytesAvailable = ((long) sc + scIndex) << subclusterBits;
        }
        if (bytesAvailable > bytesNeeded) {
            bytesAvailable = bytesNeeded;
        }
        return bytesAvailable - offsetInCluster;
    }

    /** Where {@link #contiguousSubclusters} met an invalid entry (when it returns -1). */
    private int invalidIndex;

    private int contiguousSubclusters(int nbClusters, int scIndex, int l2Index) {
        long entry = entry(l2Index);
        long bitmap = bitmap(l2Index);
        SubclusterType expected = subclusterType(entry, bitmap, scIndex);
        if (expected == SubclusterType.INVALID) {
            invalidIndex = l2Index;
            return -1;
        }
        int count = rangeLength(expected, bitmap, scIndex);
        if (expected == SubclusterType.COMPRESSED) {
            return count; // compressed clusters are looked at one by one
        }
        if (scIndex + count < subclustersPerCluster) {
            return count; // the type changes inside this cluster
        }
        long expectedOffset = entry & L2Entry.OFFSET_MASK;
        boolean checkOffset = expected.hasHostCluster();
        if (!extended) {
            // Standard entries: one subcluster per cluster; the hot loop of a map over a large image.
            SubclusterType t = expected;
            long[] l2 = l2Entries;
            for (int i = 1; i < nbClusters; i++) {
                long e = l2[l2Index + i];
                if (standardType(e) != t) {
                    break;
                }
                if (checkOffset) {
                    expectedOffset += clusterSize;
                    if (expectedOffset != (e & L2Entry.OFFSET_MASK)) {
                        break;
                    }
                }
                count++;
            }
            return count;
        }
        for (int i = 1; i < nbClusters; i++) {
            entry = entry(l2Index + i);
            bitmap = bitmap(l2Index + i);
            SubclusterType t = subclusterType(entry, bitmap, 0);
            if (t == SubclusterType.INVALID) {
                invalidIndex = l2Index + i;
                return -1;
            }
            if (t != expected) {
                break;
            }
            if (checkOffset) {
                expectedOffset += clusterSize;
                if (expectedOffset != (entry & L2Entry.OFFSET_MASK)) {
                    break;
                }
            }
            int n = rangeLength(t, bitmap, 0);
            count += n;
            if (n < subclustersPerCluster) {
                break; // the type changes inside this cluster
            }
        }
        return count;
    }

    /** How many subclusters from {@code from} on have type {@code t} (already known to be the type at from). */
    private int rangeLength(SubclusterType t, long bitmap, int from) {
        if (!extended || t == SubclusterType.COMPRESSED) {
            return subclustersPerCluster - from;
        }
        int below = from == 0 ? 0 : (int) ((1L << from) - 1); // subclusters 0..from-1
        return switch (t) {
            case NORMAL -> Integer.numberOfTrailingZeros(~((int) bitmap | below)) - from;
            case ZERO_PLAIN, ZERO_ALLOC -> Integer.numberOfTrailingZeros(~((int) (bitmap >>> 32) | below)) - from;
            default -> Integer.numberOfTrailingZeros(((int) (bitmap >>> 32) | (int) bitmap) & ~below) - from;
        };
    }

    private SubclusterType standardType(long entry) {
        return SubclusterType.ofStandard(entry, hasDataFile);
    }

    private SubclusterType subclusterType(long entry, long bitmap, int sc) {
        return SubclusterType.of(entry, bitmap, sc, extended, hasDataFile);
    }

    private long entry(int i) {
        return extended ? l2Entries[i << 1] : l2Entries[i];
    }

    private long bitmap(int i) {
        return extended ? l2Entries[(i << 1) + 1] : 0;
    }

    private void loadL2(long l2Offset) throws IOException {
        if (l2OffsetCached == l2Offset) {
            return;
        }
        l2Buffer.clear();
        // Like QEMU, a table that runs past the end of the file reads as zeros there.
        file.file().readZeroFilled(l2Offset, l2Buffer);
        l2Buffer.flip();
        l2Buffer.asLongBuffer().get(l2Entries);
        l2OffsetCached = l2Offset;
    }

    /**
     * QEMU's qcow2_detect_metadata_preallocation: the image counts as preallocated when clearly more clusters have
     * a reference than the file has blocks on disk. Errors make it answer "no", as in QEMU.
     */
    private boolean detectMetadataPreallocation() {
        try {
            long fileLength = file.length();
            long realAllocation = file.allocatedBytes();
            long realClusters = realAllocation / clusterSize;
            long threshold = Math.max(realClusters * 10 / 9, realClusters + 2);
            long endCluster = (fileLength + clusterSize - 1) >>> clusterBits;
            int refcountOrder = image.header().refcountOrder();
            int blockBits = clusterBits + 3 - refcountOrder; // log2 of entries per refcount block
            long[] table = image.refcountTable();
            ByteBuffer block = ByteBuffer.allocate((int) clusterSize);
            long loaded = -1;
            long count = 0;
            for (long i = 0; i < endCluster && count < threshold; i++) {
                long tableIndex = i >>> blockBits;
                if (tableIndex >= table.length) {
                    // Every later cluster is past the table too: no reference.
                    break;
                }
                long blockOffset = table[(int) tableIndex] & 0xfffffffffffffe00L;
                if (blockOffset == 0) {
                    i = ((tableIndex + 1) << blockBits) - 1;
                    continue;
                }
                if ((blockOffset & (clusterSize - 1)) != 0) {
                    return false;
                }
                if (blockOffset != loaded) {
                    block.clear();
                    file.file().readZeroFilled(blockOffset, block);
                    loaded = blockOffset;
                }
                if (RefcountBlock.get(block, refcountOrder, (int) (i & ((1L << blockBits) - 1))) != 0) {
                    count++;
                }
            }
            return count >= threshold;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static ImageException corrupt(String what) {
        return new CorruptMetadataException(what);
    }

    @Override
    public void close() throws IOException {
        dev.q2.util.Closeables.closeAll(java.util.Arrays.asList(backing, dataFile, file));
    }
}
