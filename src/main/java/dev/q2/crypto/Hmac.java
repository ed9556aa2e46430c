package dev.q2.crypto;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteOrder;
import java.security.DigestException;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.Provider;

/**
 * HMAC (RFC 2104) under one key, shaped for PBKDF2's chain U1, U2 = HMAC(U1), ...: the digests of the key's two
 * padded blocks (ipad, opad) are computed once, so each HMAC of a digest-sized message is two compressions.
 *
 * <p>Two ways to run the chain, giving the same bytes:
 * <ul>
 * <li>{@link Fast}: the JDK's own compression function (sun.security.provider's {@code implCompress}, which HotSpot
 * C2 replaces with SHA-NI / AVX2 / MD5 intrinsics) run directly on the digest's state array, with the padded
 * message block built once: no allocation and no padding work an iteration. It reaches into JDK internals, so it
 * needs {@code java.base/sun.security.provider} open to q2 (q2.jar's manifest says {@code Add-Opens}; a library user
 * passes {@code --add-opens java.base/sun.security.provider=ALL-UNNAMED}), and checks itself against the portable
 * way before it is used.</li>
 * <li>{@link Portable}: public API only, a {@link MessageDigest} cloned from the padded-key state for each of the
 * two digests of an iteration (about 1.7x slower than {@link Fast} on JDK 25 with SHA-NI: the clones and the
 * padding of each digest).</li>
 * </ul>
 */
abstract class Hmac {
    /** The JDK's compression function, {@code DigestBase.implCompress(byte[], int)}; null when not reachable. */
    private static final MethodHandle COMPRESS = compressHandle();
    private static final VarHandle INT_BE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle INT_LE =
            MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG_BE =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    /** The digests with the padded-key blocks already fed in: cloned for U1 (the salt has any length). */
    final MessageDigest inner;
    final MessageDigest outer;
    final int length;

    private Hmac(MessageDigest inner, MessageDigest outer) {
        this.inner = inner;
        this.outer = outer;
        this.length = inner.getDigestLength();
    }

    /**
     * An HMAC under {@code key}: {@link Fast} when the JDK's compression function is reachable and agrees with the
     * portable one, else {@link Portable}.
     *
     * @param hash the LUKS hash name ("sha256")
     * @param key the key (any length)
     * @return the HMAC
     * @throws CryptoException when q2 has no such hash
     */
    static Hmac of(String hash, byte[] key) throws CryptoException {
        Portable portable = portable(hash, key);
        Hmac fast = Fast.of(hash, key, portable);
        return fast != null ? fast : portable;
    }

    /**
     * The portable HMAC (public API only).
     *
     * @param hash the LUKS hash name
     * @param key the key
     * @return the HMAC
     * @throws CryptoException when q2 has no such hash
     */
    static Portable portable(String hash, byte[] key) throws CryptoException {
        MessageDigest inner = AfSplit.digest(hash);
        MessageDigest outer = AfSplit.digest(hash);
        inner.update(pad(hash, key, 0x36));
        outer.update(pad(hash, key, 0x5c));
        return new Portable(inner, outer);
    }

    /**
     * RFC 2104's padded key: the key (hashed first when longer than a block) zero-filled to a block, XOR {@code x}
     * (0x36 for ipad, 0x5c for opad).
     */
    static byte[] pad(String hash, byte[] key, int x) throws CryptoException {
        int block = blockSize(hash);
        byte[] k = key.length > block ? AfSplit.digest(hash).digest(key) : key;
        byte[] pad = new byte[block];
        for (int i = 0; i < block; i++) {
            pad[i] = (byte) ((i < k.length ? k[i] : 0) ^ x);
        }
        return pad;
    }

    /** The block size of a LUKS hash's digest (RFC 2104's B). */
    static int blockSize(String hash) {
        return hash.equals("sha384") || hash.equals("sha512") ? 128 : 64;
    }

    /** @return the digest length (PBKDF2's hLen) */
    final int length() {
        return length;
    }

    /**
     * PBKDF2's U1 = HMAC(key, salt || INT(blockIndex)), big-endian 32-bit block index.
     *
     * @param salt the salt
     * @param blockIndex the block index, from 1
     * @param u receives U1, {@link #length()} bytes
     */
    final void first(byte[] salt, int blockIndex, byte[] u) {
        try {
            MessageDigest in = clone(inner);
            in.update(salt);
            in.update(new byte[] {(byte) (blockIndex >>> 24), (byte) (blockIndex >>> 16), (byte) (blockIndex >>> 8),
                (byte) blockIndex});
            in.digest(u, 0, length);
            MessageDigest out = clone(outer);
            out.update(u, 0, length);
            out.digest(u, 0, length);
        } catch (DigestException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The rest of one PBKDF2 block: {@code count} times u = HMAC(key, u), each u XORed into t.
     *
     * @param u the last U ({@link #length()} bytes), left as the last one computed
     * @param t the running XOR ({@link #length()} bytes)
     * @param count how many more iterations
     */
    abstract void chain(byte[] u, byte[] t, long count);

    static MessageDigest clone(MessageDigest md) {
        try {
            return (MessageDigest) md.clone();
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException(md.getAlgorithm() + " digests cannot be cloned", e);
        }
    }

    private static MethodHandle compressHandle() {
        try {
            Class<?> base = Class.forName("sun.security.provider.DigestBase");
            Method m = base.getDeclaredMethod("implCompress", byte[].class, int.class);
            m.setAccessible(true);
            return MethodHandles.lookup().unreflect(m)
                    .asType(MethodType.methodType(void.class, Object.class, byte[].class, int.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            // no such class or method in this JDK, or the package is not open to q2 (InaccessibleObjectException)
            return null;
        }
    }

    /** Whether {@link #of} can give {@link Fast} HMACs in this JVM (for tests and diagnostics). */
    static boolean fastAvailable() {
        return COMPRESS != null;
    }

    /** Public API only: two MessageDigest clones an iteration. */
    static final class Portable extends Hmac {
        private Portable(MessageDigest inner, MessageDigest outer) {
            super(inner, outer);
        }

        @Override
        void chain(byte[] u, byte[] t, long count) {
            MessageDigest inner = super.inner;
            MessageDigest outer = super.outer;
            int h = length;
            try {
                for (long i = 0; i < count; i++) {
                    MessageDigest in = clone(inner);
                    in.update(u, 0, h);
                    in.digest(u, 0, h);
                    MessageDigest out = clone(outer);
                    out.update(u, 0, h);
                    out.digest(u, 0, h);
                    for (int k = 0; k < h; k++) {
                        t[k] ^= u[k];
                    }
                }
            } catch (DigestException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /**
     * The JDK's compression function on the digest's own state array. The message block of both digests of an
     * iteration is U (hLen bytes) and the same padding (0x80, zeros, the bit length of one block plus hLen), so one
     * block buffer serves both, its padding written once.
     */
    abstract static class Fast extends Hmac {
        /** The JDK digest object whose state the compression function updates. */
        final Object spi;
        /** The message block: U then the fixed padding. */
        final byte[] block;

        private Fast(Portable p, Object spi, int blockSize, boolean littleEndian) {
            super(p.inner, p.outer);
            this.spi = spi;
            this.block = new byte[blockSize];
            block[length] = (byte) 0x80;
            long bits = (blockSize + (long) length) * 8;
            for (int i = 0; i < 8; i++) {
                // MD5 counts bits little-endian in bytes 56..63; the SHAs big-endian at the block's end
                block[littleEndian ? blockSize - 8 + i : blockSize - 1 - i] = (byte) (bits >>> (8 * i));
            }
        }

        /**
         * A fast HMAC, or null when the JDK's digest is not reachable or disagrees with {@code portable} on a test
         * message.
         */
        static Fast of(String hash, byte[] key, Portable portable) throws CryptoException {
            if (COMPRESS == null) {
                return null;
            }
            try {
                MessageDigest md = AfSplit.digest(hash);
                Provider.Service service = md.getProvider().getService("MessageDigest", md.getAlgorithm());
                Object spi = service == null ? null : service.newInstance(null);
                Field field = spi == null ? null : stateField(spi.getClass());
                if (field == null) {
                    return null;
                }
                Object state = field.get(spi);
                int blockSize = blockSize(hash);
                byte[] ipad = pad(hash, key, 0x36);
                byte[] opad = pad(hash, key, 0x5c);
                Fast fast;
                if (state instanceof int[] s) {
                    fast = new IntState(portable, spi, s, blockSize, hash.equals("md5"), ipad, opad);
                } else if (state instanceof long[] s) {
                    fast = new LongState(portable, spi, s, blockSize, ipad, opad);
                } else {
                    return null;
                }
                return fast.agrees(portable) ? fast : null;
            } catch (ReflectiveOperationException | GeneralSecurityException | RuntimeException e) {
                // another provider's digest, or a JDK whose internals differ: the portable way
                return null;
            }
        }

        private static Field stateField(Class<?> c) throws ReflectiveOperationException {
            for (Class<?> k = c; k != null; k = k.getSuperclass()) {
                for (Field f : k.getDeclaredFields()) {
                    if (f.getName().equals("state") && (f.getType() == int[].class || f.getType() == long[].class)) {
                        f.setAccessible(true);
                        return f;
                    }
                }
            }
            return null;
        }

        /** Two chain steps on a fixed U, here and portably: the same bytes, or this way is not used. */
        private boolean agrees(Portable portable) {
            byte[] u1 = new byte[length];
            for (int i = 0; i < length; i++) {
                u1[i] = (byte) (i * 37 + 11);
            }
            byte[] u2 = u1.clone();
            byte[] t1 = new byte[length];
            byte[] t2 = new byte[length];
            chain(u1, t1, 2);
            portable.chain(u2, t2, 2);
            return MessageDigest.isEqual(u1, u2) && MessageDigest.isEqual(t1, t2);
        }

        final void compress() {
            try {
                COMPRESS.invokeExact(spi, block, 0);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable e) {
                throw new IllegalStateException(e);
            }
        }

        /**
         * The state after one padded-key block ({@code pad}) from the digest's initial state {@code iv}: the
         * block buffer lent for it and given back.
         */
        final void padState(Object iv, byte[] pad, Object into) {
            int n = java.lang.reflect.Array.getLength(iv);
            System.arraycopy(iv, 0, stateArray(), 0, n);
            byte[] saved = block.clone();
            System.arraycopy(pad, 0, block, 0, pad.length);
            compress();
            System.arraycopy(saved, 0, block, 0, saved.length);
            System.arraycopy(stateArray(), 0, into, 0, n);
        }

        @Override
        final void chain(byte[] u, byte[] t, long count) {
            System.arraycopy(u, 0, block, 0, length);
            begin(t);
            for (long i = 0; i < count; i++) {
                digest(false);
                digest(true);
            }
            System.arraycopy(block, 0, u, 0, length);
            end(t);
        }

        /** The digest's state array. */
        abstract Object stateArray();

        /** Takes T's bytes as the running words. */
        abstract void begin(byte[] t);

        /**
         * One of an iteration's two digests of the block: from the ipad state (inner) or the opad state (outer);
         * the digest replaces U in the block, and the outer one is XORed into the running words.
         */
        abstract void digest(boolean outer);

        /** Puts the running words back into T's bytes. */
        abstract void end(byte[] t);
    }

    /** MD5 (little-endian words), SHA-1, SHA-224 and SHA-256 (big-endian): 32-bit state words. */
    static final class IntState extends Fast {
        private final int[] state;
        private final int[] ipadState;
        private final int[] opadState;
        private final int[] x;
        private final boolean littleEndian;

        private IntState(Portable p, Object spi, int[] state, int blockSize, boolean littleEndian, byte[] ipad,
                         byte[] opad) {
            super(p, spi, blockSize, littleEndian);
            this.state = state;
            this.littleEndian = littleEndian;
            this.x = new int[length / 4];
            int[] iv = state.clone();
            ipadState = new int[state.length];
            opadState = new int[state.length];
            padState(iv, ipad, ipadState);
            padState(iv, opad, opadState);
        }

        @Override
        Object stateArray() {
            return state;
        }

        @Override
        void begin(byte[] t) {
            for (int w = 0; w < x.length; w++) {
                x[w] = littleEndian ? (int) INT_LE.get(t, 4 * w) : (int) INT_BE.get(t, 4 * w);
            }
        }

        @Override
        void digest(boolean outer) {
            int[] s = state;
            System.arraycopy(outer ? opadState : ipadState, 0, s, 0, s.length);
            compress();
            for (int w = 0; w < x.length; w++) {
                int v = s[w];
                put(block, 4 * w, v);
                if (outer) {
                    x[w] ^= v;
                }
            }
        }

        @Override
        void end(byte[] t) {
            for (int w = 0; w < x.length; w++) {
                put(t, 4 * w, x[w]);
            }
        }

        private void put(byte[] a, int at, int v) {
            if (littleEndian) {
                INT_LE.set(a, at, v);
            } else {
                INT_BE.set(a, at, v);
            }
        }
    }

    /** SHA-384 and SHA-512: 64-bit big-endian state words. */
    static final class LongState extends Fast {
        private final long[] state;
        private final long[] ipadState;
        private final long[] opadState;
        private final long[] x;

        private LongState(Portable p, Object spi, long[] state, int blockSize, byte[] ipad, byte[] opad) {
            super(p, spi, blockSize, false);
            this.state = state;
            this.x = new long[length / 8];
            long[] iv = state.clone();
            ipadState = new long[state.length];
            opadState = new long[state.length];
            padState(iv, ipad, ipadState);
            padState(iv, opad, opadState);
        }

        @Override
        Object stateArray() {
            return state;
        }

        @Override
        void begin(byte[] t) {
            for (int w = 0; w < x.length; w++) {
                x[w] = (long) LONG_BE.get(t, 8 * w);
            }
        }

        @Override
        void digest(boolean outer) {
            long[] s = state;
            System.arraycopy(outer ? opadState : ipadState, 0, s, 0, s.length);
            compress();
            for (int w = 0; w < x.length; w++) {
                long v = s[w];
                LONG_BE.set(block, 8 * w, v);
                if (outer) {
                    x[w] ^= v;
                }
            }
        }

        @Override
        void end(byte[] t) {
            for (int w = 0; w < x.length; w++) {
                LONG_BE.set(t, 8 * w, x[w]);
            }
        }
    }
}
