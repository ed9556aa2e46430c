package dev.q2.fuzz;

import dev.q2.testutil.Cli;

import java.io.IOException;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The property of the fuzz targets that run the command line in-process with {@code --debug}: a failure is a
 * one-line error; a stack trace on stderr of anything but an IOException is a finding.
 */
final class CliTraces {
    /** A stack trace's first line: the exception's class name, then ": message" or nothing. */
    private static final Pattern TRACE_HEAD = Pattern.compile("(?m)^([a-z][\\w$]*(?:\\.[\\w$]+)+)(?::.*)?$");

    private CliTraces() {
    }

    /** Throws an AssertionError (the finding) when {@code r}'s stderr holds the trace of an unexpected exception. */
    static void check(List<String> args, Cli.Result r) {
        Matcher m = TRACE_HEAD.matcher(r.err());
        while (m.find()) {
            Class<?> c;
            try {
                c = Class.forName(m.group(1), false, CliTraces.class.getClassLoader());
            } catch (ClassNotFoundException | LinkageError e) {
                continue; // a message line that only looks like a class name
            }
            if (Throwable.class.isAssignableFrom(c) && !IOException.class.isAssignableFrom(c)) {
                throw new AssertionError("q2 " + String.join(" ", args) + " failed with " + m.group(1) + ":\n"
                        + r.err());
            }
        }
    }
}
