package dev.q2.crypto;

import dev.q2.format.LuksAlgorithms;
import dev.q2.format.LuksHeader;

import java.io.IOException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * LUKS1 key slots as QEMU uses them (crypto/block-luks.c): unlocking the master key with a password, and making a
 * new header with slot 0 holding the master key.
 *
 * <p>A slot holds the master key split into 4000 stripes ({@link AfSplit}) and encrypted, as the payload is, with a
 * key derived from the password by PBKDF2 (the slot's salt and iterations), sector numbers counted from the start
 * of the key material. A candidate master key is right when its PBKDF2 digest (the header's salt and iterations,
 * 20 bytes) is the header's master key digest.
 *
 * <p>Bounds (hostile headers): {@link LuksHeader#checkLayout} fixes the stripes at 4000 and the key size at most 64
 * bytes, so key material is at most 256000 bytes a slot; a header whose active slots would take more than
 * {@link #MAX_WORK} HMAC computations to try is refused before any PBKDF2 runs (QEMU takes any 32-bit count: hours
 * for 2^32 iterations a slot).
 */
public final class LuksKeys {
    /**
     * The most HMAC computations q2 spends trying one password: for every active slot, its PBKDF2 iterations times
     * the hash blocks of its key, plus the master key digest's iterations times the blocks of its 20 bytes (each
     * slot's candidate key is checked against the digest). 2^30: about two minutes at QEMU's PBKDF2 speed on a
     * 2026 server core (~8-9 M HMAC-SHA-256 a second); a slot of QEMU's default iter-time (2 s) costs ~2^24 there,
     * so a QEMU image of 8 such slots made on a machine 7 times as fast still opens. It was 2^24 iterations a count
     * until session 7, which refused QEMU's own images: a 16-byte key (aes-128-cbc) with SHA-256 gets ~2^24 slot
     * iterations from qemu-img at the default iter-time on this kind of machine.
     */
    public static final long MAX_WORK = 1L << 30;
    /** QEMU's minimum iterations for a new slot and for a new master key digest. */
    static final long MIN_ITERATIONS = 1000;
    static final int SALT_LEN = 32;
    static final int DIGEST_LEN = 20;

    /** Reads key material from the LUKS header area (offsets from its start). */
    public interface KeyMaterial {
        /**
         * @param offset bytes from the start of the header
         * @param length bytes wanted
         * @return the bytes
         * @throws IOException when they cannot be read
         */
        byte[] read(long offset, int length) throws IOException;
    }

    private LuksKeys() {
    }

    /**
     * The master key: tried against each active slot in order, as QEMU does.
     *
     * @param h the header (its layout checked)
     * @param alg its algorithms
     * @param material the key material
     * @param password the password
     * @return the master key
     * @throws IOException "Invalid password, cannot unlock any keyslot" (QEMU's words), or a refusal
     */
    public static byte[] unlock(LuksHeader h, LuksAlgorithms alg, KeyMaterial material, byte[] password)
            throws IOException {
        int keyLen = (int) h.keyBytes();
        checkWork(h, alg);
        // the cipher is checked before any slot is tried
        SectorCipher.create(alg.cipherAlg(), alg.cipherMode(), alg.ivgenAlg(), alg.ivgenHashAlg(), new byte[keyLen]);
        for (int i = 0; i < LuksHeader.NUM_KEY_SLOTS; i++) {
            LuksHeader.KeySlot s = h.keySlots().get(i);
            if (!s.isActive()) {
                continue;
            }
            byte[] key = tryslot(h, alg, s, material, password);
            if (key != null) {
                return key;
            }
        }
        throw new CryptoException("Invalid password, cannot unlock any keyslot");
    }

    /**
     * Refuses a header whose active slots would take more than {@link #MAX_WORK} HMAC computations to try, naming
     * the count that alone is over it, else the total.
     */
    static void checkWork(LuksHeader h, LuksAlgorithms alg) throws CryptoException {
        int hLen = LuksAlgorithms.digestLength(alg.hashAlg());
        long mkWork = h.mkDigestIter() * blocks(DIGEST_LEN, hLen); // 32-bit counts, at most 64 blocks: no overflow
        if (mkWork > MAX_WORK) {
            throw new CryptoException("LUKS master key digest iterations " + h.mkDigestIter() + " exceed q2's limit of "
                    + MAX_WORK / blocks(DIGEST_LEN, hLen) + " (" + alg.hashAlg() + ")");
        }
        long total = 0;
        int active = 0;
        for (int i = 0; i < LuksHeader.NUM_KEY_SLOTS; i++) {
            LuksHeader.KeySlot s = h.keySlots().get(i);
            if (!s.isActive()) {
                continue;
            }
            int b = blocks(h.keyBytes(), hLen);
            if (s.iterations() * b > MAX_WORK) {
                throw new CryptoException("LUKS key slot " + i + " iterations " + s.iterations()
                        + " exceed q2's limit of " + MAX_WORK / b + " (" + h.keyBytes() + "-byte key, "
                        + alg.hashAlg() + ")");
            }
            total += s.iterations() * b + mkWork;
            active++;
        }
        if (total > MAX_WORK) {
            throw new CryptoException("LUKS key slots need " + total + " HMAC computations to try a password ("
                    + active + (active == 1 ? " active slot" : " active slots") + "), over q2's limit of " + MAX_WORK);
        }
    }

    /** PBKDF2's blocks for {@code len} bytes of output. */
    private static int blocks(long len, int hLen) {
        return (int) ((len + hLen - 1) / hLen);
    }

    private static byte[] tryslot(LuksHeader h, LuksAlgorithms alg, LuksHeader.KeySlot s, KeyMaterial material,
                                  byte[] password) throws IOException {
        int keyLen = (int) h.keyBytes();
        int stripes = (int) s.stripes();
        byte[] slotKey = Pbkdf2.derive(alg.hashAlg(), password, s.salt(), s.iterations(), keyLen);
        byte[] split = material.read(s.keyMaterialOffsetBytes(), keyLen * stripes);
        SectorCipher c = SectorCipher.create(alg.cipherAlg(), alg.cipherMode(), alg.ivgenAlg(), alg.ivgenHashAlg(),
                slotKey);
        c.decrypt(0, split, 0, split.length);
        byte[] candidate = AfSplit.merge(alg.hashAlg(), keyLen, stripes, split);
        byte[] digest = Pbkdf2.derive(alg.hashAlg(), candidate, h.mkDigestSalt(), h.mkDigestIter(), DIGEST_LEN);
        return MessageDigest.isEqual(digest, h.mkDigest()) ? candidate : null;
    }

    /** A new LUKS header with its key material, as {@link #create} makes them. */
    public record NewHeader(LuksHeader header, byte[] area, byte[] masterKey) {
    }

    /**
     * A new LUKS1 header as QEMU's qcrypto_block_luks_create makes it: random master key, salts and UUID; the
     * master key digest's iterations from QEMU's benchmark ({@link Pbkdf2#countIterations}) scaled to
     * {@code iterTimeMs} and divided by 8, slot 0's scaled to {@code iterTimeMs}, each at least 1000; slot i's key
     * material at sector 8 + i * (key material sectors rounded up to 8); the payload after the eighth slot's.
     *
     * @param cipherAlg "aes-256" etc.
     * @param mode "xts", "cbc" or "ecb"
     * @param ivgen "plain", "plain64" or "essiv"
     * @param ivgenHash the essiv hash (ignored otherwise)
     * @param hash the PBKDF2 and anti-forensic hash
     * @param iterTimeMs QEMU's iter-time (milliseconds of PBKDF2 per unlock)
     * @param password the password
     * @param random the randomness
     * @return the header, and the whole header area (payload offset bytes: header and key material)
     * @throws IOException when the parameters are not usable
     */
    public static NewHeader create(String cipherAlg, String mode, String ivgen, String ivgenHash, String hash,
                                   long iterTimeMs, byte[] password, SecureRandom random) throws IOException {
        int perKey = Integer.parseInt(cipherAlg.substring(cipherAlg.indexOf('-') + 1)) / 8;
        int keyLen = mode.equals("xts") ? 2 * perKey : perKey;
        String modeSpec = mode + "-" + ivgen + (ivgen.equals("essiv") ? ":" + ivgenHash : "");
        byte[] masterKey = new byte[keyLen];
        random.nextBytes(masterKey);
        SectorCipher.create(cipherAlg, mode, ivgen, ivgenHash, masterKey); // refuses what q2 cannot encrypt
        byte[] mkSalt = new byte[SALT_LEN];
        random.nextBytes(mkSalt);
        long mkIters = scaled(Pbkdf2.countIterations(hash, masterKey, mkSalt, DIGEST_LEN), iterTimeMs, 8);
        byte[] mkDigest = Pbkdf2.derive(hash, masterKey, mkSalt, mkIters, DIGEST_LEN);

        int stripes = (int) LuksHeader.STRIPES;
        int splitLen = keyLen * stripes;
        long splitSectors = (splitLen + 511) / 512;
        long slotStride = (splitSectors + 7) / 8 * 8;
        long headerSectors = 8;
        long payloadSectors = headerSectors + LuksHeader.NUM_KEY_SLOTS * slotStride;

        byte[] slotSalt = new byte[SALT_LEN];
        random.nextBytes(slotSalt);
        long slotIters = scaled(Pbkdf2.countIterations(hash, password, slotSalt, keyLen), iterTimeMs, 1);
        byte[] slotKey = Pbkdf2.derive(hash, password, slotSalt, slotIters, keyLen);
        byte[] split = AfSplit.split(hash, masterKey, stripes, random);
        SectorCipher.create(cipherAlg, mode, ivgen, ivgenHash, slotKey).encrypt(0, split, 0, split.length);

        List<LuksHeader.KeySlot> slots = new ArrayList<>();
        for (int i = 0; i < LuksHeader.NUM_KEY_SLOTS; i++) {
            long offset = headerSectors + i * slotStride;
            slots.add(i == 0 ? new LuksHeader.KeySlot(LuksHeader.KEY_ENABLED, slotIters, slotSalt, offset, stripes)
                    : new LuksHeader.KeySlot(LuksHeader.KEY_DISABLED, 0, new byte[SALT_LEN], offset, stripes));
        }
        String cipherName = cipherAlg.substring(0, cipherAlg.indexOf('-'));
        LuksHeader header = new LuksHeader(1, cipherName, modeSpec, hash, payloadSectors, keyLen, mkDigest, mkSalt,
                mkIters, uuid(random), slots);
        byte[] area = new byte[(int) (payloadSectors * 512)];
        System.arraycopy(header.encode(), 0, area, 0, LuksHeader.SIZE);
        System.arraycopy(split, 0, area, (int) (headerSectors * 512), splitLen);
        return new NewHeader(header, area, masterKey);
    }

    /** QEMU's scaling of a benchmark: per second to iter-time milliseconds, divided, at least 1000, 32 bits. */
    private static long scaled(long perSecond, long iterTimeMs, int divisor) throws CryptoException {
        if (iterTimeMs != 0 && perSecond > Long.MAX_VALUE / iterTimeMs) {
            throw new CryptoException("PBKDF iterations " + perSecond + " too large to scale");
        }
        long iters = perSecond * iterTimeMs / 1000 / divisor;
        if (iters > 0xffffffffL) {
            throw new CryptoException("PBKDF iterations " + iters + " larger than 4294967295");
        }
        return Math.max(iters, MIN_ITERATIONS);
    }

    private static String uuid(SecureRandom random) {
        byte[] b = new byte[16];
        random.nextBytes(b);
        b[6] = (byte) ((b[6] & 0x0f) | 0x40);
        b[8] = (byte) ((b[8] & 0x3f) | 0x80);
        long hi = 0;
        long lo = 0;
        for (int i = 0; i < 8; i++) {
            hi = hi << 8 | (b[i] & 0xff);
            lo = lo << 8 | (b[i + 8] & 0xff);
        }
        return new UUID(hi, lo).toString();
    }
}
