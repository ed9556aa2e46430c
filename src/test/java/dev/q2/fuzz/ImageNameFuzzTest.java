package dev.q2.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.q2.block.ImageName;

import java.nio.charset.StandardCharsets;

/**
 * Fuzzes the block-layer names every command reads ({@link ImageName}, over {@code block.BlockOptions} and
 * {@code util.JsonParser}): any text after "json:", any {@code --image-opts} text and any file name must be read or
 * be refused as an ImageException, in bounded time and depth.
 */
class ImageNameFuzzTest {
    @FuzzTest(maxDuration = "5m")
    void parse(byte[] input) throws Exception {
        String text = new String(input, StandardCharsets.UTF_8);
        Q2Errors.expect(() -> shown(ImageName.parse("json:" + text)));
    }

    /** --image-opts text, and the same text as a plain name (file:, protocol prefixes). */
    @FuzzTest(maxDuration = "5m")
    void imageOpts(byte[] input) throws Exception {
        String text = new String(input, StandardCharsets.UTF_8);
        Q2Errors.expect(() -> shown(ImageName.imageOpts(text)));
        Q2Errors.expect(() -> shown(ImageName.parse(text)));
    }

    /** What the commands read of a name that was accepted: its keys, backing file and QEMU's json: name for info. */
    private static void shown(ImageName n) {
        n.backingKeySecret();
        n.backingFilename();
        String json = n.refreshedFilename("qcow2");
        if (json != null && !json.startsWith("json:{")) {
            throw new AssertionError("not a json: name: " + json);
        }
    }
}
