package dev.q2.crypto;

import dev.q2.format.LuksHeader;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link LuksKeys#MAX_WORK}: what a header's counts cost (iterations x PBKDF2 blocks, the master key digest once per
 * active slot), decided before any PBKDF2 runs. The end-to-end refusals are in EncryptedHostileHeaderTest.
 */
class LuksWorkLimitTest {
    private static LuksHeader header(String cipher, String mode, String hash, long mkIter, long... slotIters) {
        int keyBytes = Integer.parseInt(cipher.substring(4)) / 8 * (mode.equals("xts") ? 2 : 1);
        List<LuksHeader.KeySlot> slots = new ArrayList<>();
        for (int i = 0; i < LuksHeader.NUM_KEY_SLOTS; i++) {
            slots.add(new LuksHeader.KeySlot(i < slotIters.length ? LuksHeader.KEY_ENABLED : LuksHeader.KEY_DISABLED,
                    i < slotIters.length ? slotIters[i] : 0, new byte[32], 8 + i * 504L, 4000));
        }
        return new LuksHeader(1, "aes", mode + "-plain64", hash, 4096, keyBytes, new byte[20], new byte[32], mkIter,
                "00000000-0000-4000-8000-000000000000", slots);
    }

    private static void check(LuksHeader h) throws Exception {
        LuksKeys.checkWork(h, h.algorithms());
    }

    @Test
    void countsQemuGivesOnFastMachinesAreTaken() throws Exception {
        // over session 6's cap of 2^24 a count: qemu-img's default iter-time with a 16-byte key and SHA-256 gives
        // ~2^24 slot iterations on a 2026 server core, more on a faster one or with a longer iter-time
        assertThatCode(() -> check(header("aes-128", "cbc", "sha256", 1 << 23, 1L << 26))).doesNotThrowAnyException();
        // eight slots of 2^25 iterations, two blocks each
        assertThatCode(() -> check(header("aes-256", "xts", "sha256", 1 << 22, 1L << 25, 1L << 25, 1L << 25,
                1L << 25, 1L << 25, 1L << 25, 1L << 25, 1L << 25))).doesNotThrowAnyException();
    }

    @Test
    void theLimitCountsBlocksAndTheDigestOfEverySlot() throws Exception {
        // SHA-1 and a 64-byte key: four blocks an iteration
        assertThatThrownBy(() -> check(header("aes-256", "xts", "sha1", 1000, (1L << 28) + 1)))
                .hasMessage("LUKS key slot 0 iterations 268435457 exceed q2's limit of 268435456 (64-byte key, sha1)");
        // MD5's 16-byte digest: the master key digest's 20 bytes take two blocks
        assertThatThrownBy(() -> check(header("aes-128", "cbc", "md5", (1L << 29) + 1, 1000)))
                .hasMessage("LUKS master key digest iterations 536870913 exceed q2's limit of 536870912 (md5)");
        // eight slots, each within the limit alone, not together (the digest is checked for every slot's key)
        assertThatThrownBy(() -> check(header("aes-128", "cbc", "sha256", (1 << 26) + 1, 1L << 26, 1L << 26,
                1L << 26, 1L << 26, 1L << 26, 1L << 26, 1L << 26, 1L << 26)))
                .hasMessage("LUKS key slots need " + ((16L << 26) + 8)
                        + " HMAC computations to try a password (8 active slots), over q2's limit of 1073741824");
        assertThatCode(() -> check(header("aes-128", "cbc", "sha256", (1 << 26) + 1, 1L << 26, 1L << 26, 1L << 26,
                1L << 26, 1L << 26, 1L << 26, 1L << 26))).doesNotThrowAnyException();
    }
}
