package dev.q2.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.q2.check.CheckListener;
import dev.q2.check.CheckMode;
import dev.q2.check.CheckReport;
import dev.q2.check.ImageChecker;
import dev.q2.cli.CheckPrinter;
import dev.q2.io.ImageFile;

import java.nio.file.Path;

/**
 * Fuzzes q2 check as the command runs it: a read-only check, and {@code check -r all} on the temporary image
 * followed by the second, read-only check the library runs after a repair. Reports are rendered too.
 */
class CheckFuzzTest {
    @FuzzTest(maxDuration = "5m")
    void check(byte[] input) throws Exception {
        Q2Errors.onImage(input, img -> run(img, CheckMode.NONE));
    }

    @FuzzTest(maxDuration = "5m")
    void repair(byte[] input) throws Exception {
        Q2Errors.onImage(input, img -> run(img, CheckMode.ALL));
    }

    private static void run(Path img, CheckMode mode) throws Exception {
        try (ImageFile f = mode.repairs() ? ImageFile.openReadWrite(img) : ImageFile.openReadOnly(img)) {
            CheckReport report = ImageChecker.check(f, mode, CheckListener.NONE);
            if (report.repaired()) {
                CheckPrinter.repairedBanner(report.repairs());
            }
            CheckPrinter.human(report.result());
            CheckPrinter.json(report.result(), "img.qcow2", "qcow2");
        }
    }
}
