package dev.q2.crypto;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * PBKDF2 against published vectors (RFC 6070 for HMAC-SHA-1, RFC 7914 section 11 for HMAC-SHA-256), the JDK's
 * PBKDF2WithHmacSHA* (ASCII passwords), and RFC 8018's definition written out over javax.crypto.Mac (any bytes, and
 * MD5, which the JDK has no PBKDF2 for); the fast HMAC against the portable one; parallel blocks against one thread.
 */
class Pbkdf2Test {
    private static final HexFormat HEX = HexFormat.of();
    private static final String[] HASHES = {"md5", "sha1", "sha224", "sha256", "sha384", "sha512"};

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static String derive(String hash, String password, String salt, long iterations, int len)
            throws CryptoException {
        return HEX.formatHex(Pbkdf2.derive(hash, ascii(password), ascii(salt), iterations, len));
    }

    @Test
    void rfc6070() throws Exception {
        assertThat(derive("sha1", "password", "salt", 1, 20)).isEqualTo("0c60c80f961f0e71f3a9b524af6012062fe037a6");
        assertThat(derive("sha1", "password", "salt", 2, 20)).isEqualTo("ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
        assertThat(derive("sha1", "password", "salt", 4096, 20))
                .isEqualTo("4b007901b765489abead49d926f721d065a429c1");
        assertThat(derive("sha1", "passwordPASSWORDpassword", "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, 25))
                .isEqualTo("3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038");
        assertThat(derive("sha1", "pass\0word", "sa\0lt", 4096, 16)).isEqualTo("56fa6aa75548099dcc37d7f03425e0c3");
    }

    @Test
    void rfc7914() throws Exception {
        assertThat(derive("sha256", "passwd", "salt", 1, 64)).isEqualTo("55ac046e56e3089fec1691c22544b605"
                + "f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
        assertThat(derive("sha256", "Password", "NaCl", 80000, 64)).isEqualTo("4ddcd8f60b98be21830cee5ef22701f9"
                + "641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d");
    }

    @ParameterizedTest
    @ValueSource(strings = {"sha1", "sha224", "sha256", "sha384", "sha512"})
    void matchesTheJdk(String hash) throws Exception {
        String jce = "PBKDF2WithHmac" + Pbkdf2.digestName(hash).replace("-", "");
        SecretKeyFactory f = SecretKeyFactory.getInstance(jce);
        String[] passwords = {"pw", "password", "x".repeat(64), "y".repeat(129), "a longer passphrase, with spaces"};
        long[] iterations = {1, 2, 3, 1000};
        int[] lengths = {1, 16, 20, 32, 48, 64, 100};
        for (String pw : passwords) {
            for (long it : iterations) {
                for (int len : lengths) {
                    byte[] salt = ascii("salt" + pw.length() + it);
                    byte[] want = f.generateSecret(new PBEKeySpec(pw.toCharArray(), salt, (int) it, len * 8))
                            .getEncoded();
                    assertThat(Pbkdf2.derive(hash, ascii(pw), salt, it, len))
                            .as("%s %s %d %d", hash, pw, it, len).isEqualTo(want);
                }
            }
        }
    }

    /** RFC 8018 section 5.2 as written, one Mac.doFinal a step: the oracle for any bytes and for MD5. */
    private static byte[] reference(String hash, byte[] password, byte[] salt, long iterations, int len)
            throws Exception {
        String name = "Hmac" + Pbkdf2.digestName(hash).replace("-", "");
        Mac mac = Mac.getInstance(name);
        // SecretKeySpec refuses an empty key; HMAC pads the empty key with zeros, as a one-zero-byte key is padded
        mac.init(new SecretKeySpec(password.length == 0 ? new byte[1] : password, name));
        byte[] out = new byte[len];
        int h = mac.getMacLength();
        for (int i = 1; (i - 1) * h < len; i++) {
            mac.update(salt);
            mac.update(new byte[] {(byte) (i >>> 24), (byte) (i >>> 16), (byte) (i >>> 8), (byte) i});
            byte[] u = mac.doFinal();
            byte[] t = u.clone();
            for (long c = 1; c < iterations; c++) {
                u = mac.doFinal(u);
                for (int k = 0; k < h; k++) {
                    t[k] ^= u[k];
                }
            }
            System.arraycopy(t, 0, out, (i - 1) * h, Math.min(h, len - (i - 1) * h));
        }
        return out;
    }

    @Test
    void matchesRfc8018OnRandomBytes() throws Exception {
        long seed = new Random().nextLong();
        Random r = new Random(seed);
        for (int n = 0; n < 300; n++) {
            String hash = HASHES[r.nextInt(HASHES.length)];
            byte[] password = new byte[r.nextInt(3) == 0 ? r.nextInt(300) : r.nextInt(40)];
            r.nextBytes(password);
            byte[] salt = new byte[r.nextInt(200)];
            r.nextBytes(salt);
            long iterations = 1 + r.nextInt(r.nextBoolean() ? 4 : 2000);
            int len = 1 + r.nextInt(150);
            assertThat(Pbkdf2.derive(hash, password, salt, iterations, len))
                    .as("seed %d: %s, %d-byte password, %d-byte salt, %d iterations, %d bytes", seed, hash,
                            password.length, salt.length, iterations, len)
                    .isEqualTo(reference(hash, password, salt, iterations, len));
        }
    }

    @Test
    void theFastHmacIsUsedAndAgreesWithThePortableOne() throws Exception {
        // the test JVM opens java.base/sun.security.provider (pom.xml, surefire argLine), as q2.jar's manifest does
        assertThat(Hmac.fastAvailable()).isTrue();
        Random r = new Random(5);
        for (String hash : HASHES) {
            byte[] key = new byte[1 + r.nextInt(200)];
            r.nextBytes(key);
            Hmac fast = Hmac.of(hash, key);
            Hmac portable = Hmac.portable(hash, key);
            assertThat(fast).as(hash).isInstanceOf(Hmac.Fast.class);
            byte[] u1 = new byte[fast.length()];
            r.nextBytes(u1);
            byte[] u2 = u1.clone();
            byte[] t1 = new byte[fast.length()];
            r.nextBytes(t1);
            byte[] t2 = t1.clone();
            fast.chain(u1, t1, 777);
            portable.chain(u2, t2, 777);
            assertThat(u1).as(hash).isEqualTo(u2);
            assertThat(t1).as(hash).isEqualTo(t2);
        }
    }

    @Test
    void blocksOnSeveralThreadsGiveTheSameBytes() throws Exception {
        byte[] salt = ascii("0123456789abcdef0123456789abcdef");
        for (String hash : new String[] {"md5", "sha256", "sha512"}) {
            // over the parallel threshold (2^14 iterations): 4, 2 and 1 blocks
            byte[] one = Pbkdf2.derive(hash, ascii("pw"), salt, 20000, 64, 1);
            assertThat(Pbkdf2.derive(hash, ascii("pw"), salt, 20000, 64, 2)).as(hash).isEqualTo(one);
        }
        assertThat(Pbkdf2.derive("md5", ascii("pw"), salt, 20000, 64, 8))
                .isEqualTo(Pbkdf2.derive("md5", ascii("pw"), salt, 20000, 64, 1));
        assertThat(Pbkdf2.derive("sha1", ascii("pw"), salt, 20000, 64, 3))
                .isEqualTo(reference("sha1", ascii("pw"), salt, 20000, 64));
    }

    @Test
    void unknownHashesAreRefused() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Pbkdf2.derive("ripemd160", ascii("p"), ascii("s"), 1,
                20)).isInstanceOf(CryptoException.class).hasMessage("Hash algorithm 'ripemd160' is not supported by q2");
    }
}
