package dev.q2.fuzz;

import ch.qos.logback.classic.Logger;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.q2.testutil.Cli;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Fuzzes the {@code -l SNAPSHOT} argument of convert and measure ({@code cli.SnapshotParam}: a snapshot's ID or
 * name, or {@code snapshot.id=,snapshot.name=} read as QemuOpts with {@code ,,} and short-form flags) and the
 * snapshot load behind it, through {@code q2 measure --debug -O qcow2 -l A [-l B ...] snap.qcow2} in-process: the
 * input is up to four NUL-separated {@code -l} arguments, the image the seed with two internal snapshots ("first",
 * "second"). measure only reads, so one folder serves every input. The property: every failure is a one-line
 * error; {@code --debug} prints the stack trace of anything else, and a trace of an exception other than an
 * IOException is a finding.
 */
class SnapshotParamFuzzTest {
    private static final Path DIR;

    static {
        ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAndStopAllAppenders();
        try {
            DIR = Files.createTempDirectory("q2-snapshot-param-fuzz");
            Files.write(DIR.resolve("snap.qcow2"), FuzzImage.seed("snap.qcow2"));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @FuzzTest(maxDuration = "5m")
    void measure(byte[] input) throws Exception {
        String[] ls = new String(input, StandardCharsets.UTF_8).split("\0", -1);
        if (ls.length > 4) {
            return;
        }
        List<String> args = new ArrayList<>(List.of("measure", "--debug", "-O", "qcow2"));
        for (String l : ls) {
            args.add("-l");
            args.add(l);
        }
        args.add("snap.qcow2");
        Cli.Result r = Cli.runIn(DIR, args.toArray(new String[0]));
        CliTraces.check(args, r);
        if (r.exitCode() != 0 && r.exitCode() != 1) {
            throw new AssertionError("q2 " + String.join(" ", args) + " exited with " + r.exitCode() + ":\n"
                    + r.err());
        }
    }
}
