package dev.q2.create;

import dev.q2.util.GHashOrder;
import dev.q2.util.QDict;

import java.math.BigInteger;
import java.util.List;

/**
 * The encryption options of qemu-img create ({@code encryption}, {@code encrypt.*}), checked as qemu-img 7.2 checks
 * them, so that q2 refuses an encrypted create with qemu-img's message. q2 never creates an encrypted image: it has
 * no {@code --object secret}, and qemu-img without one stops at "Parameter 'encrypt.key-secret' is required for
 * cipher" or "No secret with id '...'". Nothing that claims encryption is ever written.
 */
final class EncryptOptions {
    /** The LUKS creation options, in the order QEMU's QAPI visitor reads them (QCryptoBlockCreateOptionsLUKS). */
    private static final List<String> LUKS_KEYS = List.of("cipher-alg", "cipher-mode", "ivgen-alg",
            "ivgen-hash-alg", "hash-alg", "iter-time");
    private static final List<String> CIPHERS = List.of("aes-128", "aes-192", "aes-256", "des", "3des",
            "cast5-128", "serpent-128", "serpent-192", "serpent-256", "twofish-128", "twofish-192", "twofish-256");
    private static final List<String> MODES = List.of("ecb", "cbc", "xts", "ctr");
    private static final List<String> IVGENS = List.of("plain", "plain64", "essiv");
    private static final List<String> HASHES = List.of("md5", "sha1", "sha224", "sha256", "sha384", "sha512",
            "ripemd160");
    private static final BigInteger U64_MAX = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);

    private EncryptOptions() {
    }

    /**
     * {@code encryption} is an old alias of {@code encrypt.format}: QEMU drops {@code encryption=off}, turns
     * {@code on} into the AES format, and passes any other value (yes, true, no, ...) on as a format name, which
     * its visitor then refuses. Giving both names is refused first of all.
     */
    static void checkAlias(CreateOptions o) throws CreateException {
        if (aliasFormat(o) != null && o.get("encrypt.format") != null) {
            throw new CreateException("'encrypt.format' and its alias 'encryption' can't be used at the same time",
                    true);
        }
    }

    private static String aliasFormat(CreateOptions o) {
        String v = o.get("encryption");
        if (v == null || v.equals("off")) {
            return null;
        }
        return v.equals("on") ? "qcow" : v;
    }

    /**
     * The checks of QEMU's option visitor for the "encrypt" member: a format is needed when any encrypt option is
     * given, it must be aes (alias qcow) or luks, AES takes no LUKS options, and LUKS option values must be known.
     *
     * @return the encryption format, or null when the image is not to be encrypted
     */
    static String check(CreateOptions o) throws CreateException {
        String format = aliasFormat(o) != null ? aliasFormat(o) : o.get("encrypt.format");
        boolean any = o.get("encrypt.key-secret") != null;
        for (String k : LUKS_KEYS) {
            any |= o.get("encrypt." + k) != null;
        }
        if (format == null) {
            if (any) {
                throw new CreateException("Parameter 'encrypt.format' is missing", true);
            }
            return null;
        }
        switch (format) {
            case "aes", "qcow" -> {
                String unexpected = firstUnexpected(o);
                if (unexpected != null) {
                    throw new CreateException("Parameter 'encrypt." + unexpected + "' is unexpected", true);
                }
            }
            case "luks" -> {
                checkEnum(o, "cipher-alg", CIPHERS);
                checkEnum(o, "cipher-mode", MODES);
                checkEnum(o, "ivgen-alg", IVGENS);
                checkEnum(o, "ivgen-hash-alg", HASHES);
                checkEnum(o, "hash-alg", HASHES);
                String iterTime = o.get("encrypt.iter-time");
                if (iterTime != null) {
                    BigInteger v = strtol(iterTime);
                    if (v == null || v.bitLength() > 63) {
                        throw new CreateException("Parameter 'encrypt.iter-time' expects integer", true);
                    }
                }
            }
            default -> throw new CreateException("Parameter 'format' does not accept value '" + format + "'", true);
        }
        return format;
    }

    /**
     * The LUKS-only option QEMU names when AES is given them: its visitor puts the members of the "encrypt" QDict
     * (in that QDict's order) into a GHashTable, removes the two it reads (format, key-secret), and reports the
     * first key left in the table's order.
     */
    private static String firstUnexpected(CreateOptions o) {
        QDict present = new QDict();
        present.put("format", "");
        present.put("key-secret", o.get("encrypt.key-secret"));
        boolean any = false;
        for (String k : LUKS_KEYS) {
            present.put(k, o.get("encrypt." + k));
            any |= o.get("encrypt." + k) != null;
        }
        if (!any) {
            return null;
        }
        GHashOrder table = new GHashOrder();
        for (String k : present.keys()) {
            table.add(k);
        }
        table.remove("format");
        if (o.get("encrypt.key-secret") != null) {
            table.remove("key-secret");
        }
        return table.keys().get(0);
    }

    private static void checkEnum(CreateOptions o, String key, List<String> values) throws CreateException {
        String v = o.get("encrypt." + key);
        if (v != null && !values.contains(v)) {
            throw new CreateException("Parameter '" + key + "' does not accept value '" + v + "'", true);
        }
    }

    /** What qemu-img says next: it looks for the secret before it writes anything of the encryption. */
    static void refuseWithoutSecret(CreateOptions o) throws CreateException {
        String secret = o.get("encrypt.key-secret");
        if (secret == null) {
            throw new CreateException("Parameter 'encrypt.key-secret' is required for cipher", true);
        }
        throw new CreateException("No secret with id '" + secret + "'", true);
    }

    /**
     * The encryption to set up, with the key secret looked up among {@code secrets} (qemu-img's refusals when
     * there is none). Checks what q2 can encrypt before anything is written: AES ciphers only, and no aes-192 in
     * CBC or ECB mode (its key material, 96000 bytes, is not whole sectors: qemu-img 7.2 aborts on an assertion
     * creating such an image, and cannot read one).
     */
    static EncryptionRequest request(CreateOptions o, String format, dev.q2.crypto.Secrets secrets)
            throws CreateException {
        String id = o.get("encrypt.key-secret");
        if (id == null || secrets == null || secrets.find(id) == null) {
            refuseWithoutSecret(o);
        }
        dev.q2.crypto.Secret key = secrets.find(id);
        try {
            dev.q2.crypto.Secrets.password(key);
        } catch (java.io.IOException e) { // a CryptoException: caught as such, no crypto class loads for plain creates
            throw new CreateException(e.getMessage(), true);
        }
        if (!format.equals("luks")) {
            return new EncryptionRequest("aes", "aes-128", "cbc", "plain64", null, null, 0, key);
        }
        String cipher = or(o, "cipher-alg", "aes-256");
        String mode = or(o, "cipher-mode", "xts");
        String ivgen = or(o, "ivgen-alg", "plain64");
        String ivHash = or(o, "ivgen-hash-alg", "sha256");
        String hash = or(o, "hash-alg", "sha256");
        long iterTime = o.get("encrypt.iter-time") == null ? 2000 : strtol(o.get("encrypt.iter-time")).longValue();
        if (!cipher.startsWith("aes-")) {
            throw new CreateException("Cipher algorithm '" + cipher + "' is not supported by q2 (AES only)", true);
        }
        if (!mode.equals("xts") && !mode.equals("cbc") && !mode.equals("ecb")) {
            throw new CreateException("Cipher mode '" + mode + "' is not supported by q2", true);
        }
        if (cipher.equals("aes-192") && !mode.equals("xts")) {
            throw new CreateException("aes-192 in " + mode + " mode is not supported: its key material is not whole"
                    + " sectors (qemu-img 7.2 aborts on it)", true);
        }
        if (hash.equals("ripemd160") || ivgen.equals("essiv") && ivHash.equals("ripemd160")) {
            throw new CreateException("Hash algorithm 'ripemd160' is not supported by q2", true);
        }
        if (ivgen.equals("essiv")) {
            int digest = switch (ivHash) {
                case "md5" -> 16;
                case "sha1" -> 20;
                case "sha224" -> 28;
                case "sha256" -> 32;
                case "sha384" -> 48;
                default -> 64;
            };
            if (digest != 16 && digest != 24 && digest != 32) {
                throw new CreateException("No AES cipher with key size " + digest + " available", true);
            }
        }
        return new EncryptionRequest("luks", cipher, mode, ivgen, ivHash, hash, iterTime, key);
    }

    private static String or(CreateOptions o, String key, String dflt) {
        String v = o.get("encrypt." + key);
        return v != null ? v : dflt;
    }

    /** A number option as qemu-img's option parser reads it (qemu_strtou64, base 0). */
    static BigInteger parseNumber(String key, String value) throws CreateException {
        BigInteger v = strtol(value);
        if (v == null) {
            throw new CreateException("Parameter '" + key + "' expects a number", false);
        }
        if (v.abs().compareTo(U64_MAX) > 0) {
            throw new CreateException("Value '" + value + "' is too large for parameter '" + key + "'", false);
        }
        return v.signum() < 0 ? v.add(U64_MAX).add(BigInteger.ONE) : v;
    }

    /** A number option as the "Formatting" line prints it: the unsigned value printed as a signed 64-bit one. */
    static String formatted(String value) {
        try {
            return Long.toString(parseNumber("", value).longValue());
        } catch (CreateException e) {
            return value;
        }
    }

    /**
     * strtoll/strtoull's syntax with base 0, the whole string consumed: leading white space, a sign, then hex
     * ({@code 0x}), octal (leading 0) or decimal digits. Null when the text is not such a number.
     */
    static BigInteger strtol(String text) {
        int i = 0;
        int n = text.length();
        while (i < n && " \t\n\u000b\f\r".indexOf(text.charAt(i)) >= 0) {
            i++;
        }
        boolean negative = false;
        if (i < n && (text.charAt(i) == '+' || text.charAt(i) == '-')) {
            negative = text.charAt(i) == '-';
            i++;
        }
        int radix = 10;
        if (text.startsWith("0x", i) || text.startsWith("0X", i)) {
            if (i + 2 < n && digit(text.charAt(i + 2), 16) >= 0) {
                radix = 16;
                i += 2;
            }
        } else if (i < n && text.charAt(i) == '0') {
            radix = 8;
        }
        String digits = text.substring(i);
        if (digits.isEmpty()) {
            return null;
        }
        for (int k = 0; k < digits.length(); k++) {
            if (digit(digits.charAt(k), radix) < 0) {
                return null;
            }
        }
        BigInteger v = new BigInteger(digits, radix);
        return negative ? v.negate() : v;
    }

    /** An ASCII digit's value in {@code radix}, or -1 (Character.digit would also take other scripts' digits). */
    private static int digit(char c, int radix) {
        return c < 128 ? Character.digit(c, radix) : -1;
    }
}
