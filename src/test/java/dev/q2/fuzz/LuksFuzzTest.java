package dev.q2.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.q2.crypto.CryptoException;
import dev.q2.crypto.LuksKeys;
import dev.q2.format.FormatException;
import dev.q2.format.LuksAlgorithms;
import dev.q2.format.LuksHeader;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Fuzzes the LUKS key-slot path on raw bytes: the header decoded and checked as an open checks it, then every active
 * slot tried with a password (PBKDF2, key material decrypted and merged, digest compared), the key material read from
 * the same bytes (zeros past their end). Only FormatException and CryptoException may escape (a wrong password is "Invalid password").
 * Iteration counts are capped low here so that inputs stay fast; the cap q2 enforces itself
 * ({@link LuksKeys#MAX_WORK}) is pinned by EncryptedHostileHeaderTest and LuksWorkLimitTest.
 */
class LuksFuzzTest {
    @FuzzTest(maxDuration = "5m")
    void unlock(byte[] data) throws Exception {
        LuksHeader h;
        LuksAlgorithms alg;
        try {
            h = LuksHeader.decode(data);
            h.checkLayout();
            alg = h.algorithms();
        } catch (FormatException e) {
            return;
        }
        if (h.mkDigestIter() > 64) {
            return;
        }
        for (LuksHeader.KeySlot s : h.keySlots()) {
            if (s.isActive() && s.iterations() > 64) {
                return;
            }
        }
        try {
            LuksKeys.unlock(h, alg, new LuksKeys.KeyMaterial() {
                @Override
                public byte[] read(long offset, int length) throws CryptoException {
                    if (offset < 0 || length < 0 || length > 256000) {
                        throw new CryptoException("key material outside the input");
                    }
                    // past the input reads as zeros (a sparse file): small inputs still reach decryption and merge
                    byte[] out = new byte[length];
                    if (offset < data.length) {
                        System.arraycopy(data, (int) offset, out, 0, (int) Math.min(length, data.length - offset));
                    }
                    return out;
                }
            }, "password".getBytes(StandardCharsets.UTF_8));
        } catch (CryptoException e) {
            // q2's own refusal
        }
    }

    /**
     * The {@code --object} text every command that takes secrets reads ({@code SecretObject.parse}: QemuOpts keys,
     * data or file, raw or base64): read or refused as a CryptoException. Inputs naming a path with '/' are skipped
     * (a file= value then reads only names in the working folder).
     */
    @FuzzTest(maxDuration = "5m")
    void secretObject(byte[] input) throws Exception {
        String text = new String(input, StandardCharsets.UTF_8);
        if (text.indexOf('/') >= 0) {
            return;
        }
        try {
            dev.q2.crypto.SecretObject.parse(text);
        } catch (CryptoException e) {
            // refused in qemu-img's words
        }
    }
}
