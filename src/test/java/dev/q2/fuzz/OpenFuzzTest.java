package dev.q2.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.q2.image.DiskOptions;
import dev.q2.image.Qcow2Disk;
import dev.q2.image.Qcow2Metadata;

/**
 * Fuzzes opening an image: {@code Qcow2Metadata.openMetadata} (as q2 info opens it), {@code Qcow2Metadata.openReadOnly}
 * and {@code Qcow2Disk.open} read-only with its backing chain and data file. Inputs: see {@link FuzzImage}.
 */
class OpenFuzzTest {
    @FuzzTest(maxDuration = "5m")
    void open(byte[] input) throws Exception {
        Q2Errors.onImage(input, img -> {
            try (Qcow2Metadata i = Qcow2Metadata.openMetadata(img)) {
                i.backingFile();
                i.dataFile();
            }
        }, img -> {
            try (Qcow2Metadata i = Qcow2Metadata.openReadOnly(img)) {
                i.allocatedL2Tables();
            }
        }, img -> {
            try (Qcow2Disk d = Qcow2Disk.open(img, DiskOptions.readOnly())) {
                d.size();
            }
        });
    }
}
