package dev.q2.crypto;

import java.security.MessageDigest;
import java.security.GeneralSecurityException;

/**
 * PBKDF2 (RFC 8018) with HMAC over the JDK's digests, for any password bytes (the JDK's PBKDF2WithHmac* takes characters,
 * and LUKS also derives from the binary master key).
 */
public final class Pbkdf2 {
    private Pbkdf2() {
    }

    /** The JCE name of the HMAC of a LUKS hash spec; null when the JDK has none (ripemd160). */
    static String macName(String hash) {
        return switch (hash) {
            case "md5" -> "HmacMD5";
            case "sha1" -> "HmacSHA1";
            case "sha224" -> "HmacSHA224";
            case "sha256" -> "HmacSHA256";
            case "sha384" -> "HmacSHA384";
            case "sha512" -> "HmacSHA512";
            default -> null;
        };
    }

    /** The JCE name of a LUKS hash spec's digest. */
    static String digestName(String hash) throws CryptoException {
        return switch (hash) {
            case "md5" -> "MD5";
            case "sha1" -> "SHA-1";
            case "sha224" -> "SHA-224";
            case "sha256" -> "SHA-256";
            case "sha384" -> "SHA-384";
            case "sha512" -> "SHA-512";
            default -> throw new CryptoException("Hash algorithm '" + hash + "' is not supported by q2");
        };
    }

    /**
     * Derives {@code outLen} bytes.
     *
     * @param hash the LUKS hash name ("sha256")
     * @param password the password bytes
     * @param salt the salt
     * @param iterations the iteration count, 1 or more
     * @param outLen bytes wanted
     * @return the derived key
     * @throws CryptoException when the hash is not available
     */
    public static byte[] derive(String hash, byte[] password, byte[] salt, long iterations, int outLen)
            throws CryptoException {
        if (macName(hash) == null) {
            throw new CryptoException("Hash algorithm '" + hash + "' is not supported by q2");
        }
        try {
            // HMAC (RFC 2104) with the digests of the padded key's two blocks computed once and cloned for each
            // iteration: two compressions an iteration instead of the four a Mac re-keyed from scratch makes
            MessageDigest inner = AfSplit.digest(hash);
            MessageDigest outer = AfSplit.digest(hash);
            int block = hash.equals("sha384") || hash.equals("sha512") ? 128 : 64;
            byte[] key = password.length > block ? inner.digest(password) : password;
            byte[] ipad = new byte[block];
            byte[] opad = new byte[block];
            for (int i = 0; i < block; i++) {
                byte k = i < key.length ? key[i] : 0;
                ipad[i] = (byte) (k ^ 0x36);
                opad[i] = (byte) (k ^ 0x5c);
            }
            inner.reset();
            inner.update(ipad);
            outer.update(opad);
            int h = inner.getDigestLength();
            byte[] out = new byte[outLen];
            byte[] u = new byte[h];
            byte[] t = new byte[h];
            for (int blockIndex = 1, done = 0; done < outLen; blockIndex++) {
                MessageDigest in = (MessageDigest) inner.clone();
                in.update(salt);
                in.update(new byte[] {(byte) (blockIndex >>> 24), (byte) (blockIndex >>> 16),
                        (byte) (blockIndex >>> 8), (byte) blockIndex});
                in.digest(u, 0, h);
                MessageDigest o = (MessageDigest) outer.clone();
                o.update(u);
                o.digest(u, 0, h);
                System.arraycopy(u, 0, t, 0, h);
                for (long i = 1; i < iterations; i++) {
                    in = (MessageDigest) inner.clone();
                    in.update(u);
                    in.digest(u, 0, h);
                    o = (MessageDigest) outer.clone();
                    o.update(u);
                    o.digest(u, 0, h);
                    for (int k = 0; k < h; k++) {
                        t[k] ^= u[k];
                    }
                }
                int n = Math.min(h, outLen - done);
                System.arraycopy(t, 0, out, done, n);
                done += n;
            }
            return out;
        } catch (GeneralSecurityException | CloneNotSupportedException e) {
            throw new CryptoException("PBKDF2 with " + hash + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * QEMU's iteration benchmark (qcrypto_pbkdf2_count_iters): run PBKDF2 with 2^15 iterations, and more until one
     * run takes more than 500 ms of this thread's user CPU time (getrusage RUSAGE_THREAD ru_utime) (x10 below 100 ms, else scaled to about 1 s); the
     * result is iterations per second of CPU.
     *
     * @param hash the LUKS hash name
     * @param password the password
     * @param salt the salt
     * @param outLen the derived length
     * @return iterations per second
     * @throws CryptoException when the hash is not available
     */
    public static long countIterations(String hash, byte[] password, byte[] salt, int outLen)
            throws CryptoException {
        java.lang.management.ThreadMXBean bean = java.lang.management.ManagementFactory.getThreadMXBean();
        long iterations = 1 << 15;
        while (true) {
            long start = cpuMillis(bean);
            derive(hash, password, salt, iterations, outLen);
            long delta = cpuMillis(bean) - start;
            if (delta > 500) {
                return iterations * 1000 / delta;
            }
            if (delta < 100) {
                iterations *= 10;
            } else {
                iterations = iterations * 1000 / delta;
            }
        }
    }

    private static long cpuMillis(java.lang.management.ThreadMXBean bean) {
        if (bean.isCurrentThreadCpuTimeSupported()) {
            return bean.getCurrentThreadUserTime() / 1_000_000;
        }
        return System.nanoTime() / 1_000_000;
    }

}
