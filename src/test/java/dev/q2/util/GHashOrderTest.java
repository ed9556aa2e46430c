package dev.q2.util;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * GLib hash table order, on the key sets whose first key qemu-img 7.2 names in "Parameter 'encrypt.X' is
 * unexpected" (CreateEncryptionDifferentialTest compares all 126 such sets with qemu-img itself).
 */
class GHashOrderTest {
    private static String first(List<String> insertionOrder, String... removed) {
        GHashOrder t = new GHashOrder();
        insertionOrder.forEach(t::add);
        for (String r : removed) {
            t.remove(r);
        }
        return t.keys().get(0);
    }

    @Test
    void strHashIsDjb2OverSignedChars() {
        assertThat(Integer.toUnsignedLong(GHashOrder.strHash("format"))).isEqualTo(4259722414L);
        assertThat(Integer.toUnsignedLong(GHashOrder.strHash("cipher-alg"))).isEqualTo(587625025L);
        assertThat(GHashOrder.strHash("")).isEqualTo(5381);
    }

    @Test
    void firstKeysAsQemuImgNamesThem() {
        // insertion in QDict order (ivgen-alg, hash-alg, cipher-alg, iter-time, ivgen-hash-alg, format, ...)
        assertThat(first(List.of("hash-alg", "cipher-alg", "format"), "format")).isEqualTo("cipher-alg");
        assertThat(first(List.of("hash-alg", "iter-time", "format"), "format")).isEqualTo("iter-time");
        assertThat(first(List.of("ivgen-alg", "format", "cipher-mode"), "format")).isEqualTo("cipher-mode");
        assertThat(first(List.of("hash-alg", "ivgen-hash-alg", "format"), "format")).isEqualTo("hash-alg");
    }

    @Test
    void eightKeysResizeTheTable() {
        // the only set of encrypt options that grows GLib's table past 8 buckets
        List<String> all = new QDict().put("format", 1).put("key-secret", 1).put("cipher-alg", 1)
                .put("cipher-mode", 1).put("ivgen-alg", 1).put("ivgen-hash-alg", 1).put("hash-alg", 1)
                .put("iter-time", 1).keys();
        assertThat(first(all, "format", "key-secret")).isEqualTo("hash-alg");
    }
}
