package dev.q2.crypto;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;

/**
 * The LUKS anti-forensic splitter: a key spread over {@code stripes} blocks of its own length, all needed to get it
 * back. Between stripes the running block is "diffused": hashed in digest-sized pieces, each prefixed with its
 * index as a big-endian 32-bit number (the last piece shorter when the key length is not a multiple).
 */
public final class AfSplit {
    private AfSplit() {
    }

    /**
     * Joins split material back into the key.
     *
     * @param hash the LUKS hash name
     * @param keyLen the key length
     * @param stripes the stripe count
     * @param split {@code keyLen * stripes} bytes
     * @return the key
     * @throws CryptoException when the hash is not available
     */
    public static byte[] merge(String hash, int keyLen, int stripes, byte[] split) throws CryptoException {
        MessageDigest md = digest(hash);
        byte[] block = new byte[keyLen];
        for (int i = 0; i < stripes - 1; i++) {
            xor(block, split, i * keyLen);
            diffuse(md, block);
        }
        byte[] key = new byte[keyLen];
        for (int k = 0; k < keyLen; k++) {
            key[k] = (byte) (block[k] ^ split[(stripes - 1) * keyLen + k]);
        }
        return key;
    }

    /**
     * Splits a key over {@code stripes} blocks, all but the last random.
     *
     * @param hash the LUKS hash name
     * @param key the key
     * @param stripes the stripe count
     * @param random the randomness
     * @return {@code key.length * stripes} bytes
     * @throws CryptoException when the hash is not available
     */
    public static byte[] split(String hash, byte[] key, int stripes, SecureRandom random) throws CryptoException {
        MessageDigest md = digest(hash);
        int keyLen = key.length;
        byte[] out = new byte[keyLen * stripes];
        byte[] block = new byte[keyLen];
        byte[] stripe = new byte[keyLen];
        for (int i = 0; i < stripes - 1; i++) {
            random.nextBytes(stripe);
            System.arraycopy(stripe, 0, out, i * keyLen, keyLen);
            xor(block, out, i * keyLen);
            diffuse(md, block);
        }
        for (int k = 0; k < keyLen; k++) {
            out[(stripes - 1) * keyLen + k] = (byte) (block[k] ^ key[k]);
        }
        return out;
    }

    private static void xor(byte[] block, byte[] src, int at) {
        for (int k = 0; k < block.length; k++) {
            block[k] ^= src[at + k];
        }
    }

    private static void diffuse(MessageDigest md, byte[] block) {
        int dlen = md.getDigestLength();
        int pieces = (block.length + dlen - 1) / dlen;
        for (int i = 0; i < pieces; i++) {
            int at = i * dlen;
            int len = Math.min(dlen, block.length - at);
            md.update(new byte[] {(byte) (i >>> 24), (byte) (i >>> 16), (byte) (i >>> 8), (byte) i});
            md.update(block, at, len);
            byte[] d = md.digest();
            System.arraycopy(d, 0, block, at, len);
        }
    }

    static MessageDigest digest(String hash) throws CryptoException {
        try {
            return MessageDigest.getInstance(Pbkdf2.digestName(hash));
        } catch (NoSuchAlgorithmException e) {
            throw new CryptoException("Hash algorithm '" + hash + "' is not supported by q2", e);
        }
    }
}
