package dev.q2.image;

import dev.q2.format.CryptoHeaderPointer;
import dev.q2.format.FormatException;
import dev.q2.format.HeaderExtension;
import dev.q2.format.LuksAlgorithms;
import dev.q2.format.LuksHeader;
import dev.q2.format.QcowHeader;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * How an image's clusters are encrypted, as far as its metadata tells without a key: the legacy AES-CBC method
 * (crypt_method 1, no header of its own) or LUKS (crypt_method 2, with the LUKS header decoded and checked).
 *
 * @param method {@link QcowHeader#CRYPT_AES} or {@link QcowHeader#CRYPT_LUKS}
 * @param luks the LUKS header, null for AES
 * @param algorithms the LUKS algorithms as QEMU names them, null for AES
 */
public record Encryption(int method, LuksHeader luks, LuksAlgorithms algorithms) {
    /**
     * What qemu-img 7.2 says when an encrypted image is opened for its guest data without a secret (q2 has no
     * secrets, so this is what every q2 command that reads or writes guest data reports).
     */
    public static final String KEY_SECRET_REQUIRED = "Parameter 'encrypt.key-secret' is required for cipher";

    /** The encryption format as qemu-img names it: "aes" or "luks". */
    public String format() {
        return method == QcowHeader.CRYPT_LUKS ? "luks" : "aes";
    }

    /**
     * The image's encryption, checked in QEMU's order (qcow2_update_options_prepare, then the crypto header
     * extension in qcow2_read_extensions, then qcow2_do_open): null for an unencrypted image. Without
     * {@code metadataOnly} an encrypted image is refused at the point where QEMU asks for the secret.
     */
    static Encryption read(ImageFile f, QcowHeader h, List<HeaderExtension> exts, long fileSize,
                           boolean metadataOnly) throws IOException {
        int method = h.cryptMethod();
        if (Integer.compareUnsigned(method, QcowHeader.CRYPT_LUKS) > 0) {
            throw new ImageException("Unsupported encryption method " + method);
        }
        var ext = HeaderExtension.first(exts, HeaderExtension.FULL_DISK_ENCRYPTION);
        if (ext.isPresent()) {
            if (method != QcowHeader.CRYPT_LUKS) {
                throw new ImageException("CRYPTO header extension only expected with LUKS encryption method");
            }
            byte[] data = ext.get().data();
            if (data.length != 16) {
                throw new ImageException("CRYPTO header extension size " + data.length + ", but expected size 16");
            }
            CryptoHeaderPointer ptr = CryptoHeaderPointer.decode(data);
            if ((ptr.offset() & (h.clusterSize() - 1)) != 0) {
                throw new ImageException("Encryption header offset '" + Long.toUnsignedString(ptr.offset())
                        + "' is not a multiple of cluster size '" + h.clusterSize() + "'");
            }
            if (!metadataOnly) {
                throw new ImageException(KEY_SECRET_REQUIRED);
            }
            LuksHeader luks = readLuksHeader(f, ptr, fileSize);
            LuksAlgorithms algorithms;
            try {
                luks.checkLayout();
                algorithms = luks.algorithms();
            } catch (FormatException e) {
                throw new ImageException(e.getMessage());
            }
            return new Encryption(method, luks, algorithms);
        }
        if (method == QcowHeader.CRYPT_LUKS) {
            // (qemu-img 7.2 info crashes on such an image; with I/O it reports this.)
            throw new ImageException("Missing CRYPTO header for crypt method 2");
        }
        if (method == QcowHeader.CRYPT_AES) {
            if (!metadataOnly) {
                throw new ImageException(KEY_SECRET_REQUIRED);
            }
            return new Encryption(method, null, null);
        }
        return null;
    }

    /**
     * Reads the LUKS header from the crypto header area. QEMU reads past the end of the file as zeros (and then
     * finds no LUKS magic); q2 says that the header lies outside the file.
     */
    private static LuksHeader readLuksHeader(ImageFile f, CryptoHeaderPointer ptr, long fileSize)
            throws IOException {
        if (Long.compareUnsigned(ptr.length(), LuksHeader.SIZE) < 0) {
            throw new ImageException("Request for data outside of extension header");
        }
        if (ptr.offset() < 0 || ptr.offset() > fileSize - LuksHeader.SIZE) {
            throw new ImageException("LUKS header at offset " + Long.toUnsignedString(ptr.offset())
                    + " runs past the end of the file (" + fileSize
                    + " bytes); the image is truncated or its header is corrupt");
        }
        ByteBuffer buf = ByteBuffer.allocate(LuksHeader.SIZE);
        f.readFully(ptr.offset(), buf);
        try {
            return LuksHeader.decode(buf.array());
        } catch (FormatException e) {
            throw new ImageException(e.getMessage());
        }
    }
}
