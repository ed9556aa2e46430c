package dev.q2.crypto;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.security.GeneralSecurityException;

/**
 * PBKDF2 (RFC 8018) over the JDK's HMACs, for any password bytes (the JDK's PBKDF2WithHmac* takes characters,
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
        String name = macName(hash);
        if (name == null) {
            throw new CryptoException("Hash algorithm '" + hash + "' is not supported by q2");
        }
        try {
            Mac mac = Mac.getInstance(name);
            // an empty key is legal for HMAC but not for SecretKeySpec: pad it as HMAC pads any short key
            byte[] key = password.length == 0 ? new byte[1] : password;
            mac.init(new SecretKeySpec(key, name));
            int h = mac.getMacLength();
            byte[] out = new byte[outLen];
            byte[] u = new byte[h];
            byte[] t = new byte[h];
            for (int block = 1, done = 0; done < outLen; block++) {
                mac.update(salt);
                mac.update(new byte[] {(byte) (block >>> 24), (byte) (block >>> 16), (byte) (block >>> 8),
                        (byte) block});
                mac.doFinal(u, 0);
                System.arraycopy(u, 0, t, 0, h);
                for (long i = 1; i < iterations; i++) {
                    mac.update(u);
                    mac.doFinal(u, 0);
                    for (int k = 0; k < h; k++) {
                        t[k] ^= u[k];
                    }
                }
                int n = Math.min(h, outLen - done);
                System.arraycopy(t, 0, out, done, n);
                done += n;
            }
            return out;
        } catch (GeneralSecurityException e) {
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
