package dev.q2.image;

import dev.q2.format.LuksAlgorithms;
import dev.q2.format.LuksHeader;
import dev.q2.format.QcowHeader;

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
}
