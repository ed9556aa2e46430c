package dev.q2.crypto;

import org.junit.jupiter.api.Test;

import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Known-answer tests of the primitives (RFC 6070 and RFC 7914 PBKDF2, IEEE 1619 XTS) and round trips. */
class CryptoPrimitivesTest {
    private static final HexFormat HEX = HexFormat.of();

    private static byte[] pbkdf2(String hash, long iterations, int len) throws Exception {
        return Pbkdf2.derive(hash, "password".getBytes(StandardCharsets.US_ASCII),
                "salt".getBytes(StandardCharsets.US_ASCII), iterations, len);
    }

    @Test
    void pbkdf2KnownAnswers() throws Exception {
        assertThat(HEX.formatHex(pbkdf2("sha1", 1, 20))).isEqualTo("0c60c80f961f0e71f3a9b524af6012062fe037a6");
        assertThat(HEX.formatHex(pbkdf2("sha1", 2, 20))).isEqualTo("ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
        assertThat(HEX.formatHex(pbkdf2("sha1", 4096, 20))).isEqualTo("4b007901b765489abead49d926f721d065a429c1");
        assertThat(HEX.formatHex(pbkdf2("sha256", 1, 32)))
                .isEqualTo("120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b");
        assertThat(HEX.formatHex(pbkdf2("sha256", 4096, 32)))
                .isEqualTo("c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a");
        // longer than one block: the second block starts over with counter 2
        assertThat(HEX.formatHex(pbkdf2("sha1", 1, 25))).startsWith("0c60c80f961f0e71f3a9b524af6012062fe037a6");
        assertThatThrownBy(() -> pbkdf2("ripemd160", 1, 20)).isInstanceOf(CryptoException.class)
                .hasMessageContaining("ripemd160");
    }

    @Test
    void xtsKnownAnswers() throws Exception {
        // IEEE 1619-2007 vectors 1 and 2 (the data unit sequence number is the plain64 sector)
        SectorCipher c = SectorCipher.create("aes-128", "xts", "plain64", null, new byte[32]);
        byte[] b = new byte[32];
        c.encrypt(0, b, 0, 32);
        assertThat(HEX.formatHex(b)).isEqualTo("917cf69ebd68b2ec9b9fe9a3eadda692cd43d2f59598ed858c02c2652fbf922e");
        byte[] key = new byte[32];
        java.util.Arrays.fill(key, 0, 16, (byte) 0x11);
        java.util.Arrays.fill(key, 16, 32, (byte) 0x22);
        c = SectorCipher.create("aes-128", "xts", "plain64", null, key);
        b = new byte[32];
        java.util.Arrays.fill(b, (byte) 0x44);
        c.encrypt(0x3333333333L, b, 0, 32);
        assertThat(HEX.formatHex(b)).isEqualTo("c454185e6a16936e39334038acef838bfb186fff7480adc4289382ecd6d394f0");
        c.decrypt(0x3333333333L, b, 0, 32);
        assertThat(b).containsOnly((byte) 0x44);
    }

    @Test
    void cbcMatchesTheJdkSectorBySector() throws Exception {
        byte[] key = new byte[32];
        new Random(7).nextBytes(key);
        byte[] data = new byte[3 * 512];
        new Random(8).nextBytes(data);
        for (String ivgen : new String[] {"plain", "plain64", "essiv"}) {
            SectorCipher c = SectorCipher.create("aes-256", "cbc", ivgen, "sha256", key);
            byte[] b = data.clone();
            c.encrypt(0x1_0000_0005L, b, 0, b.length);
            for (int s = 0; s < 3; s++) {
                byte[] iv = new byte[16];
                long sector = 0x1_0000_0005L + s;
                for (int i = 0; i < (ivgen.equals("plain") ? 4 : 8); i++) {
                    iv[i] = (byte) (sector >>> (8 * i));
                }
                if (ivgen.equals("essiv")) {
                    Cipher e = Cipher.getInstance("AES/ECB/NoPadding");
                    e.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(
                            java.security.MessageDigest.getInstance("SHA-256").digest(key), "AES"));
                    iv = e.doFinal(iv);
                }
                Cipher j = Cipher.getInstance("AES/CBC/NoPadding");
                j.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new IvParameterSpec(iv));
                assertThat(java.util.Arrays.copyOfRange(b, s * 512, s * 512 + 512))
                        .as(ivgen + " sector " + s).isEqualTo(j.doFinal(data, s * 512, 512));
            }
            c.decrypt(0x1_0000_0005L, b, 0, b.length);
            assertThat(b).isEqualTo(data);
        }
    }

    @Test
    void afSplitRoundTripsAndNeedsEveryStripe() throws Exception {
        SecureRandom r = new SecureRandom();
        for (String hash : new String[] {"sha1", "sha256", "sha512"}) {
            byte[] key = new byte[48]; // not a multiple of 20 or 32: the last diffusion piece is short
            r.nextBytes(key);
            byte[] split = AfSplit.split(hash, key, 4000, r);
            assertThat(split).hasSize(48 * 4000);
            assertThat(AfSplit.merge(hash, 48, 4000, split)).isEqualTo(key);
            split[100] ^= 1;
            assertThat(AfSplit.merge(hash, 48, 4000, split)).isNotEqualTo(key);
        }
    }

    @Test
    void secretsAreNeverPrinted() throws Exception {
        Secret s = SecretObject.parse("secret,id=k,data=hunter2");
        assertThat(s.toString()).doesNotContain("hunter2");
        assertThat(ImageKeys.of(s).toString()).doesNotContain("hunter2");
        assertThat(SecretObject.parse("secret,id=k,data=aGVsbG8=,format=base64").bytes())
                .isEqualTo("hello".getBytes(StandardCharsets.US_ASCII));
        assertThat(SecretObject.parse("secret,id=k,data=a,,b").bytes()).isEqualTo("a,b".getBytes(
                StandardCharsets.US_ASCII));
        assertThatThrownBy(() -> Secrets.password(new Secret("k", new byte[] {(byte) 0xff})))
                .hasMessage("Data from secret k is not valid UTF-8");
    }
}
