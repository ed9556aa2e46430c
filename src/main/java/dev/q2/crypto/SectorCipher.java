package dev.q2.crypto;

import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;

/**
 * A block cipher applied per 512-byte sector as QEMU's crypto layer applies it (qcrypto_block_cipher_*_helper): the
 * data of sector {@code n} is encrypted with an IV made from {@code n} by the IV generator (plain: the low 32 bits,
 * plain64: 64 bits, both little-endian and zero-padded; essiv: plain64 encrypted with a key that is the hash of the
 * data key). Modes: XTS (the key is two keys: data, then tweak; the tweak is the encrypted IV, multiplied by x in
 * GF(2^128) from block to block), CBC and ECB. Only AES, through the JDK's AES/ECB (XTS and CBC decryption are built
 * on it so that a whole request takes one call into the JDK's AES intrinsics).
 *
 * <p>Not thread-safe.
 */
public final class SectorCipher {
    /** Bytes per sector, as QEMU's LUKS and qcow AES use it. */
    public static final int SECTOR_SIZE = 512;
    private static final int BLOCK = 16;

    private enum Mode { XTS, CBC, ECB }

    private enum IvGen { PLAIN, PLAIN64, ESSIV }

    private final Mode mode;
    private final IvGen ivgen;
    private final SecretKeySpec dataKey;
    private final Cipher ecbEncrypt;
    private final Cipher ecbDecrypt;
    private final Cipher tweakEncrypt;
    private final Cipher essivEncrypt;
    private Cipher cbc;

    private SectorCipher(Mode mode, IvGen ivgen, SecretKeySpec dataKey, Cipher ecbEncrypt, Cipher ecbDecrypt,
                         Cipher tweakEncrypt, Cipher essivEncrypt) {
        this.mode = mode;
        this.ivgen = ivgen;
        this.dataKey = dataKey;
        this.ecbEncrypt = ecbEncrypt;
        this.ecbDecrypt = ecbDecrypt;
        this.tweakEncrypt = tweakEncrypt;
        this.essivEncrypt = essivEncrypt;
    }

    /**
     * A cipher by QEMU's names.
     *
     * @param cipherAlg "aes-128", "aes-192" or "aes-256"
     * @param mode "xts", "cbc" or "ecb"
     * @param ivgen "plain", "plain64" or "essiv"
     * @param ivgenHash the essiv hash (null otherwise)
     * @param key the key: for XTS twice the cipher's key length
     * @return the cipher
     * @throws CryptoException when q2 has no such cipher
     */
    public static SectorCipher create(String cipherAlg, String mode, String ivgen, String ivgenHash, byte[] key)
            throws CryptoException {
        if (!cipherAlg.startsWith("aes-")) {
            throw new CryptoException("Cipher algorithm '" + cipherAlg + "' is not supported by q2 (AES only)");
        }
        Mode m = switch (mode) {
            case "xts" -> Mode.XTS;
            case "cbc" -> Mode.CBC;
            case "ecb" -> Mode.ECB;
            default -> throw new CryptoException("Cipher mode '" + mode + "' is not supported by q2");
        };
        IvGen g = switch (ivgen) {
            case "plain" -> IvGen.PLAIN;
            case "plain64" -> IvGen.PLAIN64;
            case "essiv" -> IvGen.ESSIV;
            default -> throw new CryptoException("IV generator '" + ivgen + "' is not supported by q2");
        };
        int keyLen = Integer.parseInt(cipherAlg.substring(4)) / 8;
        if (key.length != (m == Mode.XTS ? 2 * keyLen : keyLen)) {
            throw new CryptoException("Key length " + key.length + " does not match " + cipherAlg + "-" + mode);
        }
        try {
            SecretKeySpec k1 = new SecretKeySpec(key, 0, keyLen, "AES");
            Cipher enc = Cipher.getInstance("AES/ECB/NoPadding");
            enc.init(Cipher.ENCRYPT_MODE, k1);
            Cipher dec = Cipher.getInstance("AES/ECB/NoPadding");
            dec.init(Cipher.DECRYPT_MODE, k1);
            Cipher tweak = null;
            if (m == Mode.XTS) {
                tweak = Cipher.getInstance("AES/ECB/NoPadding");
                tweak.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, keyLen, keyLen, "AES"));
            }
            Cipher essiv = null;
            if (g == IvGen.ESSIV) {
                // the IV cipher is keyed with the hash of the whole key (both halves in XTS), as dm-crypt does
                MessageDigest md = AfSplit.digest(ivgenHash);
                byte[] salt = md.digest(key);
                essiv = Cipher.getInstance("AES/ECB/NoPadding");
                essiv.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(salt, "AES"));
            }
            return new SectorCipher(m, g, k1, enc, dec, tweak, essiv);
        } catch (GeneralSecurityException e) {
            throw new CryptoException("Cannot set up " + cipherAlg + "-" + mode + ": " + e.getMessage(), e);
        }
    }

    /**
     * Encrypts {@code len} bytes in place, sector by sector, the first being sector {@code startSector}.
     *
     * @param startSector the first sector's number (the IV source)
     * @param buf the data
     * @param off where it starts
     * @param len its length: whole sectors, or a multiple of 16 for a last partial sector
     * @throws CryptoException when the JDK's cipher fails
     */
    public void encrypt(long startSector, byte[] buf, int off, int len) throws CryptoException {
        process(true, startSector, buf, off, len);
    }

    /**
     * Decrypts {@code len} bytes in place (see {@link #encrypt}).
     *
     * @param startSector the first sector's number
     * @param buf the data
     * @param off where it starts
     * @param len its length
     * @throws CryptoException when the JDK's cipher fails
     */
    public void decrypt(long startSector, byte[] buf, int off, int len) throws CryptoException {
        process(false, startSector, buf, off, len);
    }

    private void process(boolean encrypt, long startSector, byte[] buf, int off, int len) throws CryptoException {
        if (len % BLOCK != 0) {
            throw new CryptoException("Length " + len + " is not a multiple of the cipher's block size");
        }
        if (len == 0) {
            return;
        }
        try {
            switch (mode) {
                case ECB -> (encrypt ? ecbEncrypt : ecbDecrypt).doFinal(buf, off, len, buf, off);
                case XTS -> xts(encrypt, startSector, buf, off, len);
                default -> {
                    if (encrypt) {
                        cbcEncrypt(startSector, buf, off, len);
                    } else {
                        cbcDecrypt(startSector, buf, off, len);
                    }
                }
            }
        } catch (GeneralSecurityException e) {
            throw new CryptoException("Encryption failed: " + e.getMessage(), e);
        }
    }

    private static int sectors(int len) {
        return (len + SECTOR_SIZE - 1) / SECTOR_SIZE;
    }

    /** The IVs of {@code count} sectors from {@code startSector}, 16 bytes each. */
    private byte[] ivs(long startSector, int count) throws GeneralSecurityException {
        byte[] ivs = new byte[count * BLOCK];
        for (int i = 0; i < count; i++) {
            long sector = startSector + i;
            int bytes = ivgen == IvGen.PLAIN ? 4 : 8;
            for (int b = 0; b < bytes; b++) {
                ivs[i * BLOCK + b] = (byte) (sector >>> (8 * b));
            }
        }
        if (ivgen == IvGen.ESSIV) {
            essivEncrypt.doFinal(ivs, 0, ivs.length, ivs, 0);
        }
        return ivs;
    }

    private void xts(boolean encrypt, long startSector, byte[] buf, int off, int len)
            throws GeneralSecurityException {
        int count = sectors(len);
        byte[] tweaks = ivs(startSector, count);
        tweakEncrypt.doFinal(tweaks, 0, tweaks.length, tweaks, 0);
        byte[] t = new byte[len];
        for (int s = 0; s < count; s++) {
            int at = s * SECTOR_SIZE;
            int end = Math.min(len, at + SECTOR_SIZE);
            System.arraycopy(tweaks, s * BLOCK, t, at, BLOCK);
            for (int b = at + BLOCK; b < end; b += BLOCK) {
                timesX(t, b - BLOCK, b);
            }
        }
        for (int i = 0; i < len; i++) {
            buf[off + i] ^= t[i];
        }
        (encrypt ? ecbEncrypt : ecbDecrypt).doFinal(buf, off, len, buf, off);
        for (int i = 0; i < len; i++) {
            buf[off + i] ^= t[i];
        }
    }

    /** t[to..] = t[from..] * x in GF(2^128), XTS's little-endian convention. */
    private static void timesX(byte[] t, int from, int to) {
        int carry = 0;
        for (int i = 0; i < BLOCK; i++) {
            int v = t[from + i] & 0xff;
            t[to + i] = (byte) ((v << 1) | carry);
            carry = v >>> 7;
        }
        if (carry != 0) {
            t[to] ^= (byte) 0x87;
        }
    }

    private void cbcDecrypt(long startSector, byte[] buf, int off, int len) throws GeneralSecurityException {
        int count = sectors(len);
        byte[] ivs = ivs(startSector, count);
        byte[] cipherText = java.util.Arrays.copyOfRange(buf, off, off + len);
        ecbDecrypt.doFinal(buf, off, len, buf, off);
        for (int s = 0; s < count; s++) {
            int at = s * SECTOR_SIZE;
            int end = Math.min(len, at + SECTOR_SIZE);
            for (int i = 0; i < BLOCK; i++) {
                buf[off + at + i] ^= ivs[s * BLOCK + i];
            }
            for (int i = at + BLOCK; i < end; i++) {
                buf[off + i] ^= cipherText[i - BLOCK];
            }
        }
    }

    private void cbcEncrypt(long startSector, byte[] buf, int off, int len) throws GeneralSecurityException {
        int count = sectors(len);
        byte[] ivs = ivs(startSector, count);
        if (cbc == null) {
            cbc = Cipher.getInstance("AES/CBC/NoPadding");
        }
        for (int s = 0; s < count; s++) {
            int at = s * SECTOR_SIZE;
            int n = Math.min(len - at, SECTOR_SIZE);
            cbc.init(Cipher.ENCRYPT_MODE, dataKey, new IvParameterSpec(ivs, s * BLOCK, BLOCK));
            cbc.doFinal(buf, off + at, n, buf, off + at);
        }
    }
}
