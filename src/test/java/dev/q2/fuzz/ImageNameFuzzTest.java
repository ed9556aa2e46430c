package dev.q2.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.q2.block.ImageName;

import java.nio.charset.StandardCharsets;

/**
 * Fuzzes the {@code json:} image names that check and map read ({@link ImageName#parse}, over
 * {@code util.JsonParser}): any text after "json:" must parse or be refused as an ImageException, in bounded time
 * and depth. Seeds: the accepted shape, its flattened form, and refusals.
 */
class ImageNameFuzzTest {
    @FuzzTest(maxDuration = "5m")
    void parse(byte[] input) throws Exception {
        String text = new String(input, StandardCharsets.UTF_8);
        Q2Errors.expect(() -> ImageName.parse("json:" + text));
    }
}
