package dev.q2.crypto;

import dev.q2.format.LuksAlgorithms;
import dev.q2.format.LuksHeader;

import java.io.IOException;

/**
 * The encryption of an open image's guest data, as QEMU's qcow2 driver applies it (qcow2_co_encdec): whole 512-byte
 * sectors, whose IV sector number is the host offset divided by 512 for LUKS ("physical" offsets) and the guest
 * offset divided by 512 for the legacy qcow AES method.
 */
public final class BlockCrypto {
    private final SectorCipher cipher;
    private final boolean physicalOffsets;

    private BlockCrypto(SectorCipher cipher, boolean physicalOffsets) {
        this.cipher = cipher;
        this.physicalOffsets = physicalOffsets;
    }

    /**
     * LUKS: unlocks the master key with the password.
     *
     * @param h the LUKS header
     * @param alg its algorithms
     * @param material its key material
     * @param password the key secret's bytes
     * @return the image's crypto
     * @throws IOException when the password unlocks no slot, or q2 cannot use the cipher
     */
    public static BlockCrypto luks(LuksHeader h, LuksAlgorithms alg, LuksKeys.KeyMaterial material, byte[] password)
            throws IOException {
        byte[] master = LuksKeys.unlock(h, alg, material, password);
        return luks(alg.cipherAlg(), alg.cipherMode(), alg.ivgenAlg(), alg.ivgenHashAlg(), master);
    }

    /**
     * LUKS with a known master key (a new image).
     *
     * @param cipherAlg e.g. "aes-256"
     * @param mode e.g. "xts"
     * @param ivgen e.g. "plain64"
     * @param ivgenHash the essiv hash, or null
     * @param masterKey the master key
     * @return the image's crypto
     * @throws CryptoException when q2 has no such cipher
     */
    public static BlockCrypto luks(String cipherAlg, String mode, String ivgen, String ivgenHash, byte[] masterKey)
            throws CryptoException {
        return new BlockCrypto(SectorCipher.create(cipherAlg, mode, ivgen, ivgenHash, masterKey), true);
    }

    /**
     * The legacy qcow AES method (crypt_method 1): AES-128-CBC with plain64 IVs of the guest sector, keyed with the
     * password's first 16 bytes, zero-padded (qcrypto_block_qcow_init).
     *
     * @param password the key secret's bytes
     * @return the image's crypto
     * @throws CryptoException never in practice (AES is always there)
     */
    public static BlockCrypto qcowAes(byte[] password) throws CryptoException {
        byte[] key = new byte[16];
        System.arraycopy(password, 0, key, 0, Math.min(16, password.length));
        return new BlockCrypto(SectorCipher.create("aes-128", "cbc", "plain64", null, key), false);
    }

    /**
     * Decrypts whole sectors in place.
     *
     * @param hostOffset where they are in the data file (512-aligned)
     * @param guestOffset where they are in the guest disk (512-aligned)
     * @param buf the bytes
     * @param off where they start
     * @param len how many (a multiple of 512)
     * @throws CryptoException when the cipher fails
     */
    public void decrypt(long hostOffset, long guestOffset, byte[] buf, int off, int len) throws CryptoException {
        cipher.decrypt((physicalOffsets ? hostOffset : guestOffset) >>> 9, buf, off, len);
    }

    /**
     * Encrypts whole sectors in place (see {@link #decrypt}).
     *
     * @param hostOffset where they go in the data file
     * @param guestOffset their guest offset
     * @param buf the bytes
     * @param off where they start
     * @param len how many (a multiple of 512)
     * @throws CryptoException when the cipher fails
     */
    public void encrypt(long hostOffset, long guestOffset, byte[] buf, int off, int len) throws CryptoException {
        cipher.encrypt((physicalOffsets ? hostOffset : guestOffset) >>> 9, buf, off, len);
    }

    @Override
    public String toString() {
        return "BlockCrypto[" + (physicalOffsets ? "luks" : "aes") + "]";
    }
}
