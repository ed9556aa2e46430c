package dev.q2.cli;

import dev.q2.check.CheckMessage;
import dev.q2.check.CheckMessage.Severity;
import dev.q2.check.CheckPhase;
import dev.q2.check.CheckResult;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.assertj.core.api.Assertions.assertThat;

/** qemu-img check's text made from the library's events and results. */
class CheckPrinterTest {
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @Test
    void messagesGoToStderrWithTheProgramNameOnlyForErrorReports() {
        CheckPrinter p = new CheckPrinter(new PrintWriter(out), new PrintWriter(err), true);
        p.phase(CheckPhase.REFERENCES, false);
        p.message(new CheckMessage(Severity.LEAK, false, "Leaked cluster 6 refcount=1 reference=0"));
        p.message(new CheckMessage(Severity.CHECK_ERROR, true, "ERROR snapshot table too large"));
        p.message(new CheckMessage(Severity.CORRUPTION, false, "ERROR: overflow cluster offset=0x0\nUse qemu-img amend"));
        p.finish();
        assertThat(err.toString()).isEqualTo("Leaked cluster 6 refcount=1 reference=0\n"
                + "q2: ERROR snapshot table too large\nERROR: overflow cluster offset=0x0\nUse qemu-img amend\n");
        assertThat(out.toString()).isEmpty();
    }

    @Test
    void theRepairBannerIsPrintedOnlyWhenAsked() {
        CheckResult repairs = new CheckResult(0, 0, 0, 2, 1, 0, 0, 0, 0, 0);
        new CheckPrinter(new PrintWriter(out), new PrintWriter(err), false).repaired(repairs);
        assertThat(out.toString()).isEmpty();
        new CheckPrinter(new PrintWriter(out), new PrintWriter(err), true).repaired(repairs);
        assertThat(out.toString()).isEqualTo("The following inconsistencies were found and repaired:\n\n"
                + "    1 leaked clusters\n    2 corruptions\n\nDouble checking the fixed image now...\n");
    }

    @Test
    void summariesAsQemuImgPrintsThem() {
        CheckResult r = new CheckResult(0, 3, 0, 0, 0, 393216, 16, 1, 0, 0);
        assertThat(CheckPrinter.human(r)).isEqualTo("\n3 leaked clusters were found on the image.\n"
                + "This means waste of disk space, but no harm to data.\n"
                + "1/16 = 6.25% allocated, 0.00% fragmented, 0.00% compressed clusters\nImage end offset: 393216\n");
        // QEMU's GHashTable order for these keys (pinned against qemu-img by CheckFixtureTest)
        assertThat(CheckPrinter.json(r, "img.qcow2", "qcow2")).isEqualTo("{\n"
                + "    \"image-end-offset\": 393216,\n    \"total-clusters\": 16,\n    \"check-errors\": 0,\n"
                + "    \"leaks\": 3,\n    \"allocated-clusters\": 1,\n    \"filename\": \"img.qcow2\",\n"
                + "    \"format\": \"qcow2\"\n}\n");
        assertThat(CheckCommand.exitCode(r)).isEqualTo(3);
    }
}
