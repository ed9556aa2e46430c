package dev.q2.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.q2.inspect.InspectionReport;
import dev.q2.inspect.Inspector;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fuzzes the upload gate, {@code q2 inspect} (dev.q2.inspect.Inspector): the input is a file as {@link FuzzImage}
 * builds it (a patched seed image, or raw bytes), inspected as probed and as declared raw and qcow2. Unlike the other
 * targets, inputs whose backing or data file names leave the folder are not skipped: inspect opens nothing they name.
 * Only q2's own exceptions may escape, and a report must come back for every file that could be read.
 */
class InspectFuzzTest {
    @FuzzTest(maxDuration = "5m")
    void inspect(byte[] input) throws Exception {
        byte[] image = FuzzImage.build(input);
        if (image == null) {
            return;
        }
        Path p = FuzzImage.dir().resolve("inspect.img");
        Files.write(p, image);
        for (String format : new String[] {null, "raw", "qcow2"}) {
            Q2Errors.expect(() -> {
                InspectionReport r = Inspector.inspect(p, "inspect.img", format);
                if (r == null || r.format() == null) {
                    throw new AssertionError("no report");
                }
            });
        }
    }
}
