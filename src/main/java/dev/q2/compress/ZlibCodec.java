package dev.q2.compress;

import com.jcraft.jzlib.Deflater;
import com.jcraft.jzlib.JZlib;

import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * qcow2's zlib compression: raw deflate (no zlib header) with a 12-bit (4 KiB) window, level Z_DEFAULT_COMPRESSION,
 * as QEMU's qcow2_zlib_compress. Decompression accepts any window, so java.util.zip does it; compression must keep
 * distances within 4 KiB for QEMU to read it, which java.util.zip.Deflater cannot: the system's zlib through q2's
 * JNI helper does it where the helper loads, JZlib (a Java port of zlib, same output) elsewhere.
 */
public final class ZlibCodec implements ClusterCodec {
    private static final int WINDOW_BITS = 12;

    @Override
    public int compress(byte[] src, int srcLen, byte[] dst) {
        // the system's zlib through q2's JNI helper where it loads: QEMU's own library, about four times faster
        int n = dev.q2.io.NativeFiles.deflate(src, srcLen, dst);
        if (n != -3) {
            return n;
        }
        Deflater d = new Deflater();
        int rc = d.init(JZlib.Z_DEFAULT_COMPRESSION, -WINDOW_BITS, 9);
        if (rc != JZlib.Z_OK) {
            throw new IllegalStateException("deflateInit failed: " + rc);
        }
        try {
            d.setInput(src, 0, srcLen, false);
            d.setOutput(dst, 0, dst.length);
            rc = d.deflate(JZlib.Z_FINISH);
            if (rc != JZlib.Z_STREAM_END) {
                return -1; // did not fit
            }
            return (int) d.getTotalOut();
        } finally {
            d.end();
        }
    }

    @Override
    public void decompress(byte[] src, int srcLen, byte[] dst, int dstLen) throws CompressionException {
        Inflater inf = new Inflater(true);
        try {
            inf.setInput(src, 0, srcLen);
            int n = 0;
            while (n < dstLen) {
                int k = inf.inflate(dst, n, dstLen - n);
                if (k == 0) {
                    if (inf.finished() || inf.needsInput() || inf.needsDictionary()) {
                        break;
                    }
                }
                n += k;
            }
            if (n != dstLen) {
                throw new CompressionException("compressed cluster decompresses to " + n + " bytes, not " + dstLen);
            }
        } catch (DataFormatException e) {
            throw new CompressionException("corrupt zlib data in compressed cluster: " + e.getMessage());
        } finally {
            inf.end();
        }
    }
}
