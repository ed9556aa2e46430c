package dev.q2.format;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The fixed part of the qcow2 header (spec: "Header"), version 2 or 3. Field names follow the spec. For version 2
 * images the v3-only fields take the values the spec defines for them (no features, refcount_order 4, header_length
 * 72). Immutable; the {@code with...} methods return changed copies.
 *
 * @param version the qcow2 version, 2 or 3
 * @param backingFileOffset backing_file_offset: where the backing file name is, or 0
 * @param backingFileSize backing_file_size: the length of the backing file name
 * @param clusterBits cluster_bits: log2 of the cluster size
 * @param size size: the guest disk size in bytes
 * @param cryptMethod crypt_method: {@link #CRYPT_NONE}, {@link #CRYPT_AES} or {@link #CRYPT_LUKS}
 * @param l1Size l1_size: entries in the active L1 table
 * @param l1TableOffset l1_table_offset
 * @param refcountTableOffset refcount_table_offset
 * @param refcountTableClusters refcount_table_clusters
 * @param nbSnapshots nb_snapshots
 * @param snapshotsOffset snapshots_offset
 * @param incompatibleFeatures incompatible_features (version 3)
 * @param compatibleFeatures compatible_features (version 3)
 * @param autoclearFeatures autoclear_features (version 3)
 * @param refcountOrder refcount_order: log2 of the refcount width in bits
 * @param headerLength header_length
 * @param compressionType compression_type: {@link #COMPRESSION_ZLIB} or {@link #COMPRESSION_ZSTD}
 */
public record QcowHeader(
        int version,
        long backingFileOffset,
        int backingFileSize,
        int clusterBits,
        long size,
        int cryptMethod,
        int l1Size,
        long l1TableOffset,
        long refcountTableOffset,
        int refcountTableClusters,
        int nbSnapshots,
        long snapshotsOffset,
        long incompatibleFeatures,
        long compatibleFeatures,
        long autoclearFeatures,
        int refcountOrder,
        int headerLength,
        int compressionType) {

    /** The magic, "QFI\xfb". */
    public static final int MAGIC = 0x514649fb;
    /** The length of a version 2 header. */
    public static final int V2_HEADER_LENGTH = 72;
    /** The v3 header length QEMU writes: 104 bytes plus compression_type and 7 bytes of padding. */
    public static final int V3_HEADER_LENGTH = 112;
    /** The smallest cluster_bits QEMU accepts (512-byte clusters). */
    public static final int MIN_CLUSTER_BITS = 9;
    /** The largest cluster_bits QEMU accepts (2 MiB clusters). */
    public static final int MAX_CLUSTER_BITS = 21;
    /** compression_type: deflate (zlib). */
    public static final int COMPRESSION_ZLIB = 0;
    /** compression_type: zstd. */
    public static final int COMPRESSION_ZSTD = 1;
    /** crypt_method: not encrypted. */
    public static final int CRYPT_NONE = 0;
    /** crypt_method: the legacy AES-CBC method. */
    public static final int CRYPT_AES = 1;
    /** crypt_method: LUKS (header in the crypto header extension's area). */
    public static final int CRYPT_LUKS = 2;

    /** @return the cluster size in bytes */
    public long clusterSize() {
        return 1L << clusterBits;
    }

    /** @return whether the extended L2 incompatible bit is set */
    public boolean extendedL2() {
        return (incompatibleFeatures & Features.INCOMPAT_EXTL2) != 0;
    }

    /** @return the L2 table geometry this header implies */
    public L2Geometry l2Geometry() {
        return new L2Geometry(clusterBits, extendedL2());
    }

    /** @return bytes per L2 entry: 8, or 16 with extended L2 entries */
    public int l2EntrySize() {
        return L2Geometry.entrySize(extendedL2());
    }

    /** @return log2 of the number of entries in one L2 table */
    public int l2Bits() {
        return L2Geometry.l2Bits(clusterBits, extendedL2());
    }

    /** @return the refcount width in bits */
    public int refcountBits() {
        return 1 << refcountOrder;
    }

    /**
     * Whether an incompatible feature bit is set.
     *
     * @param incompatibleBit the bit ({@link Features}' INCOMPAT_ constants)
     * @return true when set
     */
    public boolean hasFeature(long incompatibleBit) {
        return (incompatibleFeatures & incompatibleBit) != 0;
    }

    /**
     * Decodes the header at the buffer's position; the buffer must hold at least the whole fixed header.
     *
     * @param in the bytes (the position is not changed)
     * @return the header
     * @throws FormatException when it is not a header QEMU opens (QEMU's message)
     */
    public static QcowHeader decode(ByteBuffer in) throws FormatException {
        ByteBuffer b = in.slice().order(ByteOrder.BIG_ENDIAN);
        if (b.remaining() < V2_HEADER_LENGTH) {
            throw new FormatException("Image is not in qcow2 format (file too short for a qcow2 header)");
        }
        if (b.getInt(0) != MAGIC) {
            throw new FormatException("Image is not in qcow2 format (bad magic)");
        }
        int version = b.getInt(4);
        if (version != 2 && version != 3) {
            throw new FormatException("Unsupported qcow2 version " + Integer.toUnsignedString(version));
        }
        long incompat = 0;
        long compat = 0;
        long autoclear = 0;
        int refcountOrder = 4;
        int headerLength = V2_HEADER_LENGTH;
        int compressionType = COMPRESSION_ZLIB;
        if (version == 3) {
            if (b.remaining() < 104) {
                throw new FormatException("qcow2 header too short (header_length must be at least 104 for version 3)");
            }
            incompat = b.getLong(72);
            compat = b.getLong(80);
            autoclear = b.getLong(88);
            refcountOrder = b.getInt(96);
            headerLength = b.getInt(100);
            if (Integer.compareUnsigned(headerLength, 104) < 0) {   // uint32_t in the spec
                throw new FormatException("qcow2 header too short (header_length " + headerLength
                        + " below the 104 bytes version 3 requires)");
            }
            if (Integer.compareUnsigned(headerLength, 105) > 0 && b.remaining() > 104) {
                compressionType = b.get(104) & 0xff;
            }
        }
        return new QcowHeader(version, b.getLong(8), b.getInt(16), b.getInt(20), b.getLong(24), b.getInt(32),
                b.getInt(36), b.getLong(40), b.getLong(48), b.getInt(56), b.getInt(60), b.getLong(64),
                incompat, compat, autoclear, refcountOrder, headerLength, compressionType);
    }

    /** @return the bytes {@link #encode} writes: the fixed header, padded to header_length for version 3 */
    public int encodedLength() {
        return version == 2 ? V2_HEADER_LENGTH : headerLength;
    }

    /**
     * Writes the fixed header at the buffer's position and advances it by {@link #encodedLength()}.
     *
     * @param out where to write
     */
    public void encode(ByteBuffer out) {
        ByteBuffer b = out.slice().order(ByteOrder.BIG_ENDIAN);
        b.putInt(MAGIC).putInt(version).putLong(backingFileOffset).putInt(backingFileSize).putInt(clusterBits)
                .putLong(size).putInt(cryptMethod).putInt(l1Size).putLong(l1TableOffset)
                .putLong(refcountTableOffset).putInt(refcountTableClusters).putInt(nbSnapshots)
                .putLong(snapshotsOffset);
        if (version >= 3) {
            b.putLong(incompatibleFeatures).putLong(compatibleFeatures).putLong(autoclearFeatures)
                    .putInt(refcountOrder).putInt(headerLength);
            if (headerLength > 104) {
                b.put((byte) compressionType);
                while (b.position() < headerLength) {
                    b.put((byte) 0);
                }
            }
        }
        out.position(out.position() + b.position());
    }

    /**
     * @param bits the new incompatible_features
     * @return a copy with them
     */
    public QcowHeader withIncompatibleFeatures(long bits) {
        return new QcowHeader(version, backingFileOffset, backingFileSize, clusterBits, size, cryptMethod, l1Size,
                l1TableOffset, refcountTableOffset, refcountTableClusters, nbSnapshots, snapshotsOffset, bits,
                compatibleFeatures, autoclearFeatures, refcountOrder, headerLength, compressionType);
    }

    /**
     * @param bits the new autoclear_features
     * @return a copy with them
     */
    public QcowHeader withAutoclearFeatures(long bits) {
        return new QcowHeader(version, backingFileOffset, backingFileSize, clusterBits, size, cryptMethod, l1Size,
                l1TableOffset, refcountTableOffset, refcountTableClusters, nbSnapshots, snapshotsOffset,
                incompatibleFeatures, compatibleFeatures, bits, refcountOrder, headerLength, compressionType);
    }

    /**
     * @param length the new header_length
     * @return a copy with it
     */
    public QcowHeader withHeaderLength(int length) {
        return new QcowHeader(version, backingFileOffset, backingFileSize, clusterBits, size, cryptMethod, l1Size,
                l1TableOffset, refcountTableOffset, refcountTableClusters, nbSnapshots, snapshotsOffset,
                incompatibleFeatures, compatibleFeatures, autoclearFeatures, refcountOrder, length, compressionType);
    }

    /**
     * @param offset the new l1_table_offset
     * @param entries the new l1_size
     * @return a copy with them
     */
    public QcowHeader withL1(long offset, int entries) {
        return new QcowHeader(version, backingFileOffset, backingFileSize, clusterBits, size, cryptMethod, entries,
                offset, refcountTableOffset, refcountTableClusters, nbSnapshots, snapshotsOffset, incompatibleFeatures,
                compatibleFeatures, autoclearFeatures, refcountOrder, headerLength, compressionType);
    }

    /**
     * @param offset the new refcount_table_offset
     * @param clusters the new refcount_table_clusters
     * @return a copy with them
     */
    public QcowHeader withRefcountTable(long offset, int clusters) {
        return new QcowHeader(version, backingFileOffset, backingFileSize, clusterBits, size, cryptMethod, l1Size,
                l1TableOffset, offset, clusters, nbSnapshots, snapshotsOffset, incompatibleFeatures,
                compatibleFeatures, autoclearFeatures, refcountOrder, headerLength, compressionType);
    }

    /**
     * @param offset the new backing_file_offset
     * @param length the new backing_file_size
     * @return a copy with them
     */
    public QcowHeader withBackingFile(long offset, int length) {
        return new QcowHeader(version, offset, length, clusterBits, size, cryptMethod, l1Size,
                l1TableOffset, refcountTableOffset, refcountTableClusters, nbSnapshots, snapshotsOffset,
                incompatibleFeatures, compatibleFeatures, autoclearFeatures, refcountOrder, headerLength,
                compressionType);
    }

    /**
     * @param newSize the new size (guest bytes)
     * @return a copy with it
     */
    public QcowHeader withSize(long newSize) {
        return new QcowHeader(version, backingFileOffset, backingFileSize, clusterBits, newSize, cryptMethod, l1Size,
                l1TableOffset, refcountTableOffset, refcountTableClusters, nbSnapshots, snapshotsOffset,
                incompatibleFeatures, compatibleFeatures, autoclearFeatures, refcountOrder, headerLength,
                compressionType);
    }
}
