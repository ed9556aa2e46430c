package dev.q2.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.q2.io.ImageFile;
import dev.q2.probe.FormatProber;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fuzzes format probing and the header readers of the formats q2 names but does not process (dev.q2.probe): the
 * bytes are written as a file, probed, and read as every one of those formats (as with {@code -f FMT}). Only q2's
 * own exceptions may escape; seeds are small images of each format made by qemu-img 7.2.
 */
class ProbeFuzzTest {
    @FuzzTest(maxDuration = "5m")
    void probe(byte[] data) throws Exception {
        Path dir = Files.createTempDirectory("q2-probe-fuzz");
        Path file = dir.resolve("img");
        try {
            Files.write(file, data);
            try (ImageFile f = ImageFile.openReadOnly(file)) {
                Q2Errors.expect(() -> FormatProber.probe(f));
                for (String format : FormatProber.FOREIGN) {
                    Q2Errors.expect(() -> FormatProber.readHeader(f, format));
                }
            }
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }
}
