package dev.q2.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Training run for the {@code q2} launcher: runs the common commands once, in-process, on a scratch image, so that
 * the JVM can record the classes they load in an AppCDS archive (JDK 17-24) or an AOT cache (JDK 25+) that later
 * runs map instead of loading, verifying and linking those classes again. Not part of the command line.
 */
public final class Warmup {
    private Warmup() {
    }

    /** The images every training run works on (create's own runs too). */
    private static final String[][] SETUP = {
        {"create", "-o", "extended_l2=on,cluster_size=128k", "big.qcow2", "1T"},
        {"create", "-q", "small.qcow2", "64M"},
    };

    /** The commands' runs, each named by its first word. */
    private static final String[][] RUNS = {
        {"info", "big.qcow2"},
        {"info", "--output=json", "small.qcow2"},
        {"info", "--backing-chain", "small.qcow2"},
        {"info", "missing.qcow2"},
        // the other commands too, so that their classes are in the archive as well
        {"io", "-c", "write -P 7 0 1M", "-c", "write -z 2M 64k", "-c", "read -P 7 0 4k", "small.qcow2"},
        {"check", "small.qcow2"},
        {"check", "--output=json", "big.qcow2"},
        {"map", "--output=json", "small.qcow2"},
        {"map", "small.qcow2"},
        {"convert", "-O", "raw", "small.qcow2", "small.raw"},
        {"convert", "-f", "raw", "-O", "qcow2", "small.raw", "copy.qcow2"},
        {"compare", "small.qcow2", "small.qcow2"},
        {"compare", "small.qcow2", "zero.raw"},
        {"bench", "--count", "2000", "small.qcow2"},
        {"snapshot", "-c", "s", "small.qcow2"},
        {"snapshot", "-l", "small.qcow2"},
        {"snapshot", "-a", "s", "small.qcow2"},
        {"snapshot", "-d", "s", "small.qcow2"},
    };

    /**
     * Runs every command's warm-up, or with an argument only that command's (and the {@link #SETUP} that makes its
     * images): the training run of a JDK 25 AOT cache for one command, whose cache then holds only the classes that
     * command loads (docs/performance.md, "Session 7").
     */
    public static void main(String[] args) throws IOException {
        // Main.main's class that Main.run does not load: without it in the archive, every command loaded one class
        // from the jar (reading and verifying it, and on JDK 25 setting up jar verification), session 6
        dev.q2.util.Phases.mark("warmup");
        String only = args.length > 0 ? args[0] : null;
        Path dir = Files.createTempDirectory("q2-warmup");
        PrintWriter sink = new PrintWriter(Writer.nullWriter());
        try {
            // a raw image to compare with, made without convert (whose classes compare's cache need not hold)
            try (java.io.RandomAccessFile zero = new java.io.RandomAccessFile(dir.resolve("zero.raw").toFile(), "rw")) {
                zero.setLength(64 << 20);
            }
            for (String[] run : SETUP) {
                Main.run(dir, run, sink, sink);
            }
            for (String[] run : RUNS) {
                if (only == null || only.equals(run[0])) {
                    Main.run(dir, run, sink, sink);
                }
            }
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
