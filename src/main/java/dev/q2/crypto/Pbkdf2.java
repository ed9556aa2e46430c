package dev.q2.crypto;

/**
 * PBKDF2 (RFC 8018) with HMAC over the JDK's digests, for any password bytes (the JDK's PBKDF2WithHmac* takes characters,
 * and LUKS also derives from the binary master key), at the speed of QEMU's (nettle) where the JDK's compression
 * function is reachable ({@link Hmac}).
 */
public final class Pbkdf2 {
    /** Iterations under which one thread derives every block (a thread's start costs more than the work). */
    private static final long PARALLEL_ITERATIONS = 1 << 14;

    private Pbkdf2() {
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
     * Derives {@code outLen} bytes. When the output takes more than one hash-sized block (a 64-byte XTS key from
     * SHA-256 takes two) and the iterations are many, the blocks, which RFC 8018 derives independently, are derived
     * on as many threads as there are processors: the same bytes and CPU time, less waiting.
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
        return derive(hash, password, salt, iterations, outLen, Runtime.getRuntime().availableProcessors());
    }

    /**
     * {@link #derive(String, byte[], byte[], long, int)} on at most {@code threads} threads.
     */
    static byte[] derive(String hash, byte[] password, byte[] salt, long iterations, int outLen, int threads)
            throws CryptoException {
        digestName(hash); // refuses what q2 has no digest for
        Hmac first = Hmac.of(hash, password);
        int h = first.length();
        int blocks = (outLen + h - 1) / h;
        int n = iterations < PARALLEL_ITERATIONS ? 1 : Math.max(1, Math.min(blocks, threads));
        Hmac[] macs = new Hmac[n];
        macs[0] = first;
        for (int j = 1; j < n; j++) {
            macs[j] = Hmac.of(hash, password);
        }
        byte[] out = new byte[outLen];
        Thread[] workers = new Thread[n];
        Throwable[] failed = new Throwable[n];
        for (int j = 1; j < n; j++) {
            int worker = j;
            workers[j] = new Thread(() -> {
                try {
                    blocks(macs[worker], salt, iterations, out, worker, n);
                } catch (RuntimeException | Error e) {
                    failed[worker] = e; // seen after join: the caller throws it, not the thread's default handler
                }
            }, "q2-pbkdf2-" + j);
            workers[j].setDaemon(true);
            workers[j].start();
        }
        blocks(first, salt, iterations, out, 0, n);
        boolean interrupted = false;
        for (int j = 1; j < n; j++) {
            while (true) {
                try {
                    workers[j].join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        for (Throwable e : failed) {
            if (e instanceof RuntimeException r) {
                throw r;
            } else if (e instanceof Error r) {
                throw r;
            }
        }
        return out;
    }

    /** Blocks {@code from + 1}, {@code from + 1 + step}, ... of the output (RFC 8018's T_i, i from 1). */
    private static void blocks(Hmac mac, byte[] salt, long iterations, byte[] out, int from, int step) {
        int h = mac.length();
        byte[] u = new byte[h];
        byte[] t = new byte[h];
        for (int i = from; (long) i * h < out.length; i += step) {
            mac.first(salt, i + 1, u);
            System.arraycopy(u, 0, t, 0, h);
            mac.chain(u, t, iterations - 1);
            System.arraycopy(t, 0, out, i * h, Math.min(h, out.length - i * h));
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
            derive(hash, password, salt, iterations, outLen, 1); // one thread: its CPU time is the measure
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
