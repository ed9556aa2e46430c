package dev.q2.create;

import dev.q2.crypto.LuksKeys;
import dev.q2.crypto.Secret;
import dev.q2.crypto.Secrets;
import dev.q2.format.QcowHeader;
import dev.q2.image.EncryptionSetup;

import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;

/**
 * The encryption of a new image, as qemu-img create's {@code encrypt.*} options (or {@code encryption=on}) and
 * the key secret ask for it. LUKS defaults are QEMU's: aes-256, xts, plain64, essiv hash sha256, hash sha256,
 * iter-time 2000 ms.
 *
 * @param format "luks" or "aes"
 * @param cipherAlg e.g. "aes-256"
 * @param cipherMode e.g. "xts"
 * @param ivgenAlg e.g. "plain64"
 * @param ivgenHashAlg the essiv hash
 * @param hashAlg the PBKDF2 and anti-forensic hash
 * @param iterTimeMs milliseconds of PBKDF2 an unlock should take
 * @param key the key secret
 */
public record EncryptionRequest(String format, String cipherAlg, String cipherMode, String ivgenAlg,
                                String ivgenHashAlg, String hashAlg, long iterTimeMs, Secret key) {

    /**
     * Encrypts a freshly created image: for LUKS a new header with slot 0 for the key secret, the master key and
     * salts from a {@link SecureRandom}; for AES crypt_method 1 only (the key is the secret itself).
     *
     * @param path the new image
     * @throws IOException when it cannot be written, or q2 has no such cipher
     */
    public void apply(Path path) throws IOException {
        byte[] password = Secrets.password(key);
        if (format.equals("aes")) {
            EncryptionSetup.setUp(path, QcowHeader.CRYPT_AES, null);
            return;
        }
        LuksKeys.NewHeader h = LuksKeys.create(cipherAlg, cipherMode, ivgenAlg, ivgenHashAlg, hashAlg, iterTimeMs,
                password, new SecureRandom());
        EncryptionSetup.setUp(path, QcowHeader.CRYPT_LUKS, h.area());
    }

    @Override
    public String toString() {
        return "EncryptionRequest[" + format + ", " + cipherAlg + "-" + cipherMode + "-" + ivgenAlg + ", key="
                + key.id() + "]";
    }
}
