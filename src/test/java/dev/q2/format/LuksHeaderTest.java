package dev.q2.format;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * LUKS1 header decoding, QEMU 7.2's layout checks and algorithm names, on headers built here (the messages are
 * qemu-img 7.2's, seen on images edited the same way; EncryptedDifferentialTest compares them with qemu-img).
 */
class LuksHeaderTest {
    /** The header qemu-img 7.2 writes by default: aes xts-plain64 sha256, 64 key bytes, slot 0 active. */
    static ByteBuffer defaultHeader() {
        ByteBuffer b = ByteBuffer.allocate(LuksHeader.SIZE);
        b.put(new byte[] {'L', 'U', 'K', 'S', (byte) 0xBA, (byte) 0xBE}).putShort((short) 1);
        putString(b, 8, "aes");
        putString(b, 40, "xts-plain64");
        putString(b, 72, "sha256");
        b.putInt(104, 4040).putInt(108, 64).putInt(164, 5859);
        putString(b, 168, "2bf9e5d3-5986-4028-aa6b-035f26d41630");
        for (int i = 0; i < 8; i++) {
            int at = 208 + 48 * i;
            b.putInt(at, i == 0 ? LuksHeader.KEY_ENABLED : LuksHeader.KEY_DISABLED);
            b.putInt(at + 4, i == 0 ? 23884 : 0);
            b.putInt(at + 40, 8 + 504 * i).putInt(at + 44, 4000);
        }
        return b;
    }

    private static void putString(ByteBuffer b, int at, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < Math.max(32, bytes.length); i++) {
            b.put(at + i, i < bytes.length ? bytes[i] : 0);
        }
    }

    private static LuksHeader decode(Consumer<ByteBuffer> edit) throws FormatException {
        ByteBuffer b = defaultHeader();
        edit.accept(b);
        return LuksHeader.decode(b.array());
    }

    @Test
    void decodesQemusDefaultHeader() throws FormatException {
        LuksHeader h = decode(b -> { });
        h.checkLayout();
        assertThat(h.version()).isEqualTo(1);
        assertThat(h.cipherName()).isEqualTo("aes");
        assertThat(h.cipherMode()).isEqualTo("xts-plain64");
        assertThat(h.hashSpec()).isEqualTo("sha256");
        assertThat(h.keyBytes()).isEqualTo(64);
        assertThat(h.payloadOffsetBytes()).isEqualTo(2068480);
        assertThat(h.mkDigestIter()).isEqualTo(5859);
        assertThat(h.uuid()).isEqualTo("2bf9e5d3-5986-4028-aa6b-035f26d41630");
        assertThat(h.keySlots()).hasSize(8);
        assertThat(h.keySlots().get(0).isActive()).isTrue();
        assertThat(h.keySlots().get(0).iterations()).isEqualTo(23884);
        assertThat(h.keySlots().get(0).keyMaterialOffsetBytes()).isEqualTo(4096);
        assertThat(h.keySlots().get(7).isActive()).isFalse();
        assertThat(h.keySlots().get(7).keyMaterialOffsetBytes()).isEqualTo(1810432);
        assertThat(h.algorithms()).isEqualTo(new LuksAlgorithms("aes-256", "xts", "plain64", null, "sha256"));
        assertThat(h).isEqualTo(decode(b -> { }));
    }

    @Test
    void uuidStopsAtNulOrAfterFortyBytes() throws FormatException {
        assertThat(decode(b -> putString(b, 168, "abc")).uuid()).isEqualTo("abc");
        String forty = "A".repeat(40);
        assertThat(decode(b -> b.put(168, forty.getBytes(StandardCharsets.US_ASCII))).uuid()).isEqualTo(forty);
    }

    @Test
    void refusesShortData() {
        assertThatThrownBy(() -> LuksHeader.decode(new byte[100])).isInstanceOf(FormatException.class)
                .hasMessage("LUKS header: 100 bytes, below the 592 bytes of a LUKS1 header");
    }

    @Test
    void decodeRefusesWhatIsNotALuks1Header() {
        assertThatThrownBy(() -> decode(b -> b.put(5, (byte) 0xBF))).hasMessage("Volume is not in LUKS format");
        assertThatThrownBy(() -> decode(b -> b.putShort(6, (short) 2)))
                .hasMessage("LUKS version 2 is not supported");
        assertThatThrownBy(() -> decode(b -> b.put(8, "a".repeat(32).getBytes(StandardCharsets.US_ASCII))))
                .hasMessage("LUKS header cipher name is not NUL terminated");
        assertThatThrownBy(() -> decode(b -> b.put(40, "a".repeat(32).getBytes(StandardCharsets.US_ASCII))))
                .hasMessage("LUKS header cipher mode is not NUL terminated");
        assertThatThrownBy(() -> decode(b -> b.put(72, "a".repeat(32).getBytes(StandardCharsets.US_ASCII))))
                .hasMessage("LUKS header hash spec is not NUL terminated");
    }

    @Test
    void layoutChecksInQemusOrder() throws FormatException {
        assertLayout(b -> b.putInt(104, 7), "LUKS payload is overlapping with the header");
        assertLayout(b -> b.putInt(164, 0), "LUKS key iteration count is zero");
        assertLayout(b -> b.putInt(208 + 44, 0), "Keyslot 0 is corrupted (stripes 0 != 4000)");
        assertLayout(b -> b.putInt(208 + 48 * 3 + 44, -1), "Keyslot 3 is corrupted (stripes -1 != 4000)");
        assertLayout(b -> b.putInt(208 + 48, 0x1234), "Keyslot 1 state (active/disable) is corrupted");
        assertLayout(b -> b.putInt(208 + 4, 0), "Keyslot 0 iteration count is zero");
        assertLayout(b -> b.putInt(208 + 40, 7), "Keyslot 0 is overlapping with the LUKS header");
        assertLayout(b -> b.putInt(104, 100), "Keyslot 0 is overlapping with the encrypted payload");
        assertLayout(b -> b.putInt(208 + 48 + 40, 8), "Keyslots 0 and 1 are overlapping in the header");
        // slot 1 starting inside the header overlaps slot 0 first, since slot 0's pairs are checked first
        assertLayout(b -> b.putInt(208 + 48 + 40, 2), "Keyslots 0 and 1 are overlapping in the header");
    }

    @Test
    void inactiveSlotWithoutIterationsIsFine() throws FormatException {
        decode(b -> b.putInt(208 + 48 + 4, 0)).checkLayout();
    }

    @Test
    void keyMaterialLengthWrapsAt32BitsAsInQemu() throws FormatException {
        // 0x80000000 key bytes × 4000 stripes is 0 in 32 bits: no overlap, and the name lookup is what fails
        LuksHeader h = decode(b -> b.putInt(108, 0x80000000));
        h.checkLayout();
        assertThatThrownBy(h::algorithms)
                .hasMessage("Algorithm 'aes' with key size 1073741824 bytes not supported");
        // a huge payload offset is accepted and reported in bytes
        assertThat(decode(b -> b.putInt(104, -1)).payloadOffsetBytes()).isEqualTo(2199023255040L);
    }

    private static void assertLayout(Consumer<ByteBuffer> edit, String message) throws FormatException {
        LuksHeader h = decode(edit);
        assertThatThrownBy(h::checkLayout).isInstanceOf(FormatException.class).hasMessage(message);
    }

    @ParameterizedTest(name = "{0} {1} {2} bytes -> {3}")
    @CsvSource(delimiter = '|', value = {
        "aes|xts-plain64|64|aes-256|xts|plain64|",
        "aes|xts-plain64|48|aes-192|xts|plain64|",
        "aes|xts-plain64|32|aes-128|xts|plain64|",
        "aes|cbc-plain|32|aes-256|cbc|plain|",
        "aes|cbc-essiv:sha256|16|aes-128|cbc|essiv|sha256",
        "aes|ecb-plain64:sha1|16|aes-128|ecb|plain64|",
        "aes|ctr-plain64|24|aes-192|ctr|plain64|",
        "cast5|cbc-plain64|16|cast5-128|cbc|plain64|",
        "cast5|cbc-essiv:md5|16|cast5-128|cbc|essiv|md5",
        "serpent|xts-plain64|64|serpent-256|xts|plain64|",
        "twofish|cbc-essiv:sha256|16|twofish-128|cbc|essiv|sha256",
    })
    void namesAlgorithmsAsQemu(String name, String mode, int keyBytes, String alg, String cipherMode, String ivgen,
                               String ivHash) throws FormatException {
        LuksHeader h = decode(b -> {
            putString(b, 8, name);
            putString(b, 40, mode);
            b.putInt(108, keyBytes);
        });
        assertThat(h.algorithms()).isEqualTo(new LuksAlgorithms(alg, cipherMode, ivgen, ivHash, "sha256"));
    }

    @ParameterizedTest(name = "{0} {1} {2} bytes, hash {3}: {4}")
    @CsvSource(delimiter = '|', value = {
        "aes|xtsplain64|64|sha256|Unexpected cipher mode string format 'xtsplain64'",
        "aes|xts-plain64:md4|64|sha256|Hash algorithm 'md4' not supported",
        "aes|foo-plain64|64|sha256|Cipher mode 'foo' not supported",
        "blowfish|xts-plain64|64|sha256|Algorithm 'blowfish' with key size 32 bytes not supported",
        "aes|cbc-plain64|0|sha256|Algorithm 'aes' with key size 0 bytes not supported",
        "aes|cbc-plain64|-1|sha256|Algorithm 'aes' with key size -1 bytes not supported",
        "cast5|cbc-plain64|32|sha256|Algorithm 'cast5' with key size 32 bytes not supported",
        "aes|xts-plain64|64|sha3|Hash algorithm 'sha3' not supported",
        "aes|xts-plain32|64|sha256|IV generator 'plain32' not supported",
        "aes|xts-essiv|64|sha256|Missing IV generator hash specification",
        "aes|xts-essiv:sha512|64|sha256|No AES cipher with key size 64 available",
        "serpent|cbc-essiv:sha1|16|sha256|No Serpent cipher with key size 20 available",
        "twofish|cbc-essiv:ripemd160|16|sha256|No Twofish cipher with key size 20 available",
        "cast5|cbc-essiv:sha256|16|sha256|Cipher cast5-128 not supported with essiv",
    })
    void refusesWhatQemuCannotUse(String name, String mode, long keyBytes, String hash, String message)
            throws Exception {
        LuksHeader h = decode(b -> {
            putString(b, 8, name);
            putString(b, 40, mode);
            putString(b, 72, hash);
            b.putInt(108, (int) keyBytes);
        });
        assertThatThrownBy(h::algorithms).isInstanceOf(FormatException.class).hasMessage(message);
    }
}
