package dev.q2.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.q2.check.CheckMode;
import dev.q2.check.CheckReport;
import dev.q2.check.CheckResult;
import dev.q2.check.Qcow2Checker;
import dev.q2.image.Qcow2Metadata;
import dev.q2.io.ImageFile;

import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Path;

/**
 * Fuzzes q2 check as the command runs it: a read-only check, and {@code check -r all} on the temporary image
 * followed by the second, read-only check the command runs after a repair. Reports are rendered too.
 */
class CheckFuzzTest {
    private static final PrintWriter NOWHERE = new PrintWriter(Writer.nullWriter());

    @FuzzTest(maxDuration = "5m")
    void check(byte[] input) throws Exception {
        Path img = FuzzImage.write(input);
        if (img != null) {
            run(img, CheckMode.NONE);
        }
    }

    @FuzzTest(maxDuration = "5m")
    void repair(byte[] input) throws Exception {
        Path img = FuzzImage.write(input);
        if (img != null) {
            run(img, CheckMode.ALL);
        }
    }

    private static void run(Path img, CheckMode mode) throws Exception {
        Q2Errors.expect(() -> {
            try (ImageFile f = mode.repairs() ? ImageFile.openReadWrite(img) : ImageFile.openReadOnly(img)) {
                Qcow2Checker.Session session = new Qcow2Checker.Session();
                CheckResult result = Qcow2Checker.check(Qcow2Metadata.loadForCheck(f), mode, NOWHERE, session);
                if (result.corruptionsFixed != 0 || result.leaksFixed != 0) {
                    CheckReport.repairedBanner(result);
                    result = Qcow2Checker.check(Qcow2Metadata.loadForCheck(f), CheckMode.NONE, NOWHERE, session);
                }
                CheckReport.human(result);
                CheckReport.json(result, "img.qcow2", "qcow2");
            }
        });
    }
}
