package dev.q2.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.q2.chain.Commit;
import dev.q2.chain.Rebase;

import java.io.PrintWriter;
import java.io.StringWriter;

/**
 * Fuzzes qemu-img rebase and commit on a hostile top image (the seeds of {@link FuzzImage}: overlays of base.qcow2
 * and base.raw among them), as the commands run them: the image is opened, its chain followed, data compared,
 * copied and the header rewritten. The input's length picks the variant. The shared backing files are written
 * afresh before every run (commit writes into them). Only q2's own exceptions may escape.
 */
class ChainFuzzTest {
    private static final PrintWriter DIAGNOSTICS = new PrintWriter(new StringWriter());

    @FuzzTest(maxDuration = "5m")
    void rebase(byte[] input) throws Exception {
        Rebase.Request r = switch (input.length % 4) {
            case 0 -> request("base.raw", "raw", false); // safe: compare the old chain with the new one
            case 1 -> request("", null, false); // safe: flatten
            case 2 -> request("base.qcow2", "qcow2", false);
            default -> request("base.qcow2", "qcow2", true); // unsafe: the header only
        };
        if (FuzzImage.writeWithFreshShared(input)) {
            Q2Errors.expect(() -> Rebase.rebase(r, p -> { }, DIAGNOSTICS));
        }
    }

    private static Rebase.Request request(String backing, String format, boolean unsafe) {
        return new Rebase.Request(FuzzImage.dir(), "img.qcow2", null, backing, format, unsafe, false, false);
    }

    /** Commits into the backing file, and with an odd-length input leaves the image as it is (-d). */
    @FuzzTest(maxDuration = "5m")
    void commit(byte[] input) throws Exception {
        Commit.Request r = new Commit.Request(FuzzImage.dir(), "img.qcow2", null, null, (input.length & 1) != 0,
                false);
        if (FuzzImage.writeWithFreshShared(input)) {
            Q2Errors.expect(() -> Commit.commit(r, p -> { }, DIAGNOSTICS));
        }
    }
}
