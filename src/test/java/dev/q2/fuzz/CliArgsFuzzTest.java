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
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Fuzzes the argument parsing of q2 bitmap, dd, resize and amend, and the commands behind it, through the command
 * line in-process: an input's first byte picks the command ({@link #COMMANDS}), the rest is the argument list
 * (NUL-separated, after the command name and {@code --debug}), run in
 * a fresh folder holding {@code img.qcow2} (the bitmaps.qcow2 seed), {@code c512.qcow2}, {@code base.qcow2} and
 * {@code img.raw}. The property: every failure is a one-line error, never an unchecked exception, which the
 * command line would print as "q2: message" too; {@code --debug} makes it print the stack trace, whose first line
 * names the exception's class. Arguments naming paths outside the folder ('/') and preallocation (which writes
 * as much as the size asks for) are skipped. Seeds: the commands' documented forms.
 */
class CliArgsFuzzTest {
    private static final Path DIR;

    static {
        // --debug turns logging up: nowhere to go here, only the stack traces on the command's stderr are read
        ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAndStopAllAppenders();
        try {
            DIR = Files.createTempDirectory("q2-args-fuzz");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The commands whose arguments are fuzzed; an input's first byte picks one (modulo their number). */
    static final List<String> COMMANDS = List.of("bitmap", "dd", "resize", "amend");

    @FuzzTest(maxDuration = "5m")
    void args(byte[] input) throws Exception {
        if (input.length > 0) {
            run(COMMANDS.get((input[0] & 0xff) % COMMANDS.size()), Arrays.copyOfRange(input, 1, input.length));
        }
    }

    private static void run(String command, byte[] input) throws Exception {
        List<String> args = new ArrayList<>(List.of(command, "--debug"));
        for (String a : new String(input, StandardCharsets.UTF_8).split("\0", -1)) {
            if (a.indexOf('/') >= 0 || a.contains("prealloc")) {
                return;
            }
            args.add(a);
        }
        if (args.size() > 34) {
            return;
        }
        Path dir = freshFolder();
        Cli.Result r = Cli.runIn(dir, args.toArray(new String[0]));
        CliTraces.check(args, r);
    }

    private static Path freshFolder() throws IOException {
        Path dir = DIR.resolve("run");
        if (Files.exists(dir)) {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        Files.createDirectories(dir);
        Files.write(dir.resolve("img.qcow2"), FuzzImage.seed("bitmaps.qcow2"));
        Files.write(dir.resolve("c512.qcow2"), FuzzImage.seed("c512.qcow2"));
        Files.write(dir.resolve("base.qcow2"), FuzzImage.seed("base.qcow2"));
        Files.write(dir.resolve("img.raw"), FuzzImage.seed("base.raw"));
        return dir;
    }
}
