package dev.q2.testutil;

import dev.q2.cli.Main;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs the q2 command line in-process and captures what it prints. */
public final class Cli {
    private Cli() {
    }

    public record Result(int exitCode, String out, String err) {
    }

    public static Result run(String... args) {
        return runIn(java.nio.file.Path.of(""), args);
    }

    /** Runs q2 as if started in {@code dir}, so relative names print as qemu-img would print them there. */
    public static Result runIn(java.nio.file.Path dir, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = Main.run(dir, args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(rc, out.toString(), err.toString());
    }
}
