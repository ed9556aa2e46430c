package dev.q2.format;

import java.util.List;

/**
 * The algorithms of a LUKS1 header as QEMU names them in its QAPI enumerations (QCryptoCipherAlgorithm,
 * QCryptoCipherMode, QCryptoIVGenAlgorithm, QCryptoHashAlgorithm), which is what qemu-img info prints.
 *
 * <p>The header stores a cipher name ("aes"), a key size in bytes, a mode string
 * {@code <mode>-<ivgen>[:<ivgen hash>]} ("xts-plain64", "cbc-essiv:sha256") and a hash spec ("sha256"). QEMU turns
 * the name and key size into one algorithm, halving the key size first in XTS mode, whose key is two keys: "aes"
 * with 64 key bytes in XTS is "aes-256".
 *
 * @param cipherAlg e.g. "aes-256"
 * @param cipherMode "ecb", "cbc", "xts" or "ctr"
 * @param ivgenAlg "plain", "plain64" or "essiv"
 * @param ivgenHashAlg the IV generator's hash, only for essiv (QEMU ignores and does not report it otherwise)
 * @param hashAlg the hash of the key derivation
 */
public record LuksAlgorithms(String cipherAlg, String cipherMode, String ivgenAlg, String ivgenHashAlg,
                             String hashAlg) {
    private static final List<String> MODES = List.of("ecb", "cbc", "xts", "ctr");
    private static final List<String> IVGENS = List.of("plain", "plain64", "essiv");
    private static final List<String> HASHES = List.of("md5", "sha1", "sha224", "sha256", "sha384", "sha512",
            "ripemd160");

    /**
     * Names the algorithms of {@code h}, refusing what QEMU cannot use, with its messages and in its order
     * (qcrypto_block_luks_parse_header).
     */
    public static LuksAlgorithms of(LuksHeader h) throws FormatException {
        String spec = h.cipherMode();
        int dash = spec.indexOf('-');
        if (dash < 0) {
            throw new FormatException("Unexpected cipher mode string format '" + spec + "'");
        }
        String mode = spec.substring(0, dash);
        String ivgen = spec.substring(dash + 1);
        String ivHash = null;
        int colon = ivgen.indexOf(':');
        if (colon >= 0) {
            ivHash = hash(ivgen.substring(colon + 1));
            ivgen = ivgen.substring(0, colon);
        }
        if (!MODES.contains(mode)) {
            throw new FormatException("Cipher mode '" + mode + "' not supported");
        }
        String cipher = cipher(h.cipherName(), mode, h.keyBytes());
        String hash = hash(h.hashSpec());
        if (!IVGENS.contains(ivgen)) {
            throw new FormatException("IV generator '" + ivgen + "' not supported");
        }
        if (ivgen.equals("essiv")) {
            if (ivHash == null) {
                throw new FormatException("Missing IV generator hash specification");
            }
            essivCipher(cipher, ivHash);
        } else {
            ivHash = null; // dm-crypt ignores a hash given with plain/plain64, and so does QEMU
        }
        return new LuksAlgorithms(cipher, mode, ivgen, ivHash, hash);
    }

    private static String hash(String name) throws FormatException {
        if (!HASHES.contains(name)) {
            throw new FormatException("Hash algorithm '" + name + "' not supported");
        }
        return name;
    }

    /** The ciphers LUKS names and the key sizes QEMU supports for each. */
    private static String cipher(String name, String mode, long keyBytes) throws FormatException {
        long perKey = mode.equals("xts") ? keyBytes / 2 : keyBytes;
        String found = switch (name) {
            case "aes", "serpent", "twofish" -> perKey == 16 ? "-128" : perKey == 24 ? "-192"
                    : perKey == 32 ? "-256" : null;
            case "cast5" -> perKey == 16 ? "-128" : null;
            default -> null;
        };
        if (found == null) {
            // QEMU prints the size with %d
            throw new FormatException("Algorithm '" + name + "' with key size " + (int) perKey
                    + " bytes not supported");
        }
        return name + found;
    }

    private static int keyLength(String cipher) {
        return Integer.parseInt(cipher.substring(cipher.indexOf('-') + 1)) / 8;
    }

    /**
     * The digest length of a LUKS hash name (PBKDF2's hLen).
     *
     * @param hash "sha256" etc.
     * @return bytes
     */
    public static int digestLength(String hash) {
        return switch (hash) {
            case "md5" -> 16;
            case "sha1", "ripemd160" -> 20;
            case "sha224" -> 28;
            case "sha256" -> 32;
            case "sha384" -> 48;
            default -> 64;
        };
    }

    /**
     * The cipher ESSIV uses: dm-crypt keys it with the hash digest, so it is the same cipher with the digest's key
     * length; QEMU refuses a digest length the cipher family does not have.
     */
    private static void essivCipher(String cipher, String hash) throws FormatException {
        int digest = digestLength(hash);
        if (digest == keyLength(cipher)) {
            return;
        }
        String family = cipher.substring(0, cipher.indexOf('-'));
        String label = switch (family) {
            case "aes" -> "AES";
            case "serpent" -> "Serpent";
            case "twofish" -> "Twofish";
            default -> null;
        };
        if (label == null) {
            throw new FormatException("Cipher " + cipher + " not supported with essiv");
        }
        if (digest != 16 && digest != 24 && digest != 32) {
            throw new FormatException("No " + label + " cipher with key size " + digest + " available");
        }
    }
}
