package dev.q2.image;

import dev.q2.format.CryptoHeaderPointer;
import dev.q2.format.FormatException;
import dev.q2.format.HeaderExtension;
import dev.q2.format.QcowHeader;
import dev.q2.io.ImageFile;

import java.io.IOException;

/**
 * Unlocking an encrypted image's key (kept apart from {@link Encryption}, which every open loads, so that the crypto
 * classes load only when a key is given).
 */
public final class EncryptionKeys {
    private EncryptionKeys() {
    }

    /**
     * The cipher of an encrypted image opened for its guest data with a key secret: LUKS unlocks its master key
     * with it (key material read from the crypto header area, which must lie inside the file), AES takes it as its
     * key. Loads the crypto classes only here, so that unencrypted images never do.
     *
     * @param f the image file
     * @param img its metadata, loaded with {@link Qcow2Metadata#loadWithKey}
     * @param keys the key secret (encrypt.key-secret)
     * @return the crypto of the image, null for an unencrypted image
     * @throws IOException qemu-img's messages: no secret, wrong password, or a cipher q2 cannot use
     */
    public static dev.q2.crypto.BlockCrypto unlock(ImageFile f, Qcow2Metadata img, dev.q2.crypto.ImageKeys keys)
            throws IOException {
        Encryption enc = img.encryption();
        if (enc == null) {
            return null;
        }
        try {
            dev.q2.crypto.Secret key = keys.require();
            byte[] password = dev.q2.crypto.Secrets.password(key);
            if (enc.method() == QcowHeader.CRYPT_AES) {
                return dev.q2.crypto.BlockCrypto.qcowAes(password);
            }
            CryptoHeaderPointer ptr = CryptoHeaderPointer.decode(HeaderExtension.first(img.extensions(),
                    HeaderExtension.FULL_DISK_ENCRYPTION).get().data());
            long fileSize = f.size();
            return dev.q2.crypto.BlockCrypto.luks(enc.luks(), enc.algorithms(), new dev.q2.crypto.LuksKeys.KeyMaterial() {
                @Override
                public byte[] read(long offset, int length) throws IOException {
                    long at = ptr.offset() + offset;
                    if (offset + length > ptr.length() || at + length > fileSize) {
                        throw new ImageException("LUKS key material at offset " + at + " (" + length
                                + " bytes) lies outside the crypto header area or the file");
                    }
                    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(length);
                    f.readFully(at, b);
                    return b.array();
                }
            }, password);
        } catch (dev.q2.crypto.CryptoException | FormatException e) {
            throw new ImageException(e.getMessage(), e);
        }
    }

}
