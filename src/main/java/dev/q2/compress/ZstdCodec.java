package dev.q2.compress;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdDecompressCtx;

/**
 * qcow2's zstd compression: one zstd frame per cluster (QEMU's qcow2_zstd_compress, default level). Compression goes
 * through the system's libzstd where q2's JNI helper finds it (QEMU's own library: the same frames, and no
 * extraction of zstd-jni's bundled library on every run), zstd-jni elsewhere. Reading tolerates the padding after
 * the frame up to the end of the last sector, as QEMU does.
 */
public final class ZstdCodec implements ClusterCodec {
    private static final int LEVEL = 3; // ZSTD_CLEVEL_DEFAULT, which QEMU uses

    @Override
    public int compress(byte[] src, int srcLen, byte[] dst) {
        int viaSystem = dev.q2.io.NativeFiles.zstdCompress(src, srcLen, dst);
        if (viaSystem != -3) {
            return viaSystem;
        }
        byte[] out = new byte[(int) Zstd.compressBound(srcLen)];
        long n;
        try {
            n = Zstd.compressByteArray(out, 0, out.length, src, 0, srcLen, LEVEL);
        } catch (com.github.luben.zstd.ZstdException e) {
            return -1;
        }
        if (Zstd.isError(n) || n > dst.length) {
            return -1; // does not fit: the caller writes the cluster uncompressed, as QEMU does
        }
        System.arraycopy(out, 0, dst, 0, (int) n);
        return (int) n;
    }

    @Override
    public void decompress(byte[] src, int srcLen, byte[] dst, int dstLen) throws CompressionException {
        try (ZstdDecompressCtx ctx = new ZstdDecompressCtx()) {
            int n = ctx.decompressByteArray(dst, 0, dstLen, src, 0, frameLength(src, srcLen));
            if (n != dstLen) {
                throw new CompressionException("compressed cluster decompresses to " + n + " bytes, not " + dstLen);
            }
        } catch (com.github.luben.zstd.ZstdException e) {
            throw new CompressionException("corrupt zstd data in compressed cluster: " + e.getMessage());
        }
    }

    /** Length of the first frame: the compressed span is rounded up to sectors, so trailing bytes follow it. */
    private static int frameLength(byte[] src, int srcLen) throws CompressionException {
        long n = Zstd.findFrameCompressedSize(src, 0, srcLen);
        if (Zstd.isError(n)) {
            throw new CompressionException("corrupt zstd data in compressed cluster: " + Zstd.getErrorName(n));
        }
        return (int) n;
    }
}
