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

    public static void main(String[] args) throws IOException {
        // Main.main's class that Main.run does not load: without it in the archive, every command loaded one class
        // from the jar (reading and verifying it, and on JDK 25 setting up jar verification), session 6
        dev.q2.util.Phases.mark("warmup");
        Path dir = Files.createTempDirectory("q2-warmup");
        PrintWriter sink = new PrintWriter(Writer.nullWriter());
        try {
            String[][] runs = {
                {"create", "-o", "extended_l2=on,cluster_size=128k", "big.qcow2", "1T"},
                {"create", "-q", "small.qcow2", "64M"},
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
                {"compare", "small.qcow2", "copy.qcow2"},
                {"bench", "--count", "2000", "small.qcow2"},
                {"snapshot", "-c", "s", "small.qcow2"},
                {"snapshot", "-l", "small.qcow2"},
                {"snapshot", "-a", "s", "small.qcow2"},
                {"snapshot", "-d", "s", "small.qcow2"},
            };
            for (String[] run : runs) {
                Main.run(dir, run, sink, sink);
            }
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
