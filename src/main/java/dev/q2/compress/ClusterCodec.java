package dev.q2.compress;

/**
 * Compression of one cluster, as the header's compression_type says: 0 zlib (raw deflate with a 4 KiB window,
 * no zlib header, as QEMU writes it), 1 zstd (one zstd frame).
 */
public interface ClusterCodec {
    /**
     * Compresses {@code src} into {@code dst}; returns the compressed length, or -1 if it does not fit in
     * {@code dst} (the caller then writes the cluster uncompressed, as QEMU does).
     */
    int compress(byte[] src, int srcLen, byte[] dst) throws CompressionException;

    /**
     * Decompresses exactly {@code dstLen} bytes into {@code dst} from {@code src}, which may carry trailing bytes
     * of the last 512-byte sector; fails if the data is corrupt or short.
     */
    void decompress(byte[] src, int srcLen, byte[] dst, int dstLen) throws CompressionException;

    static ClusterCodec forType(int compressionType) {
        return switch (compressionType) {
            case 0 -> new ZlibCodec();
            case 1 -> new ZstdCodec();
            default -> throw new IllegalArgumentException("unknown compression type " + compressionType);
        };
    }
}
