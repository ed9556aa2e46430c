package dev.q2.inspect;

import dev.q2.testutil.Cli;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The proof for {@code check --no-references} and {@code map --no-references} that q2 touches FILE and nothing the
 * image names: q2 runs in a child JVM under {@code strace -f}, which logs every system call that takes a path
 * (open, stat, readlink, access, ...) and every network call of every thread. No call may name the backing file or
 * data file (files in the test's folder, a FIFO, {@code json:} options naming a file, an NBD URL), and none may
 * connect anywhere. For names the JVM itself reads ({@code /etc/passwd}: the user name), the log may name it no more
 * often than a run on a clean image. Skipped where strace is missing or cannot trace.
 */
@Tag("slow") // eight JVM starts under strace: a minute or more
@Timeout(600)
class NoReferencesStraceTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void straceWorks() throws Exception {
        boolean ok;
        try {
            Process p = new ProcessBuilder("strace", "-qq", "-e", "trace=none", "true").redirectErrorStream(true)
                    .start();
            ok = p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (java.io.IOException e) {
            ok = false;
        }
        assumeTrue(ok, "strace is not available or cannot trace here");
    }

    /** An image with data in its data file, whose backing file and data file are then named as given. */
    private void image(String file, String backing, String dataFile) throws Exception {
        String placeholder = "d".repeat(dataFile.length());
        Images.qcow2(dir, file, List.of("-o", "data_file=" + placeholder), "write -P 1 0 64k");
        Cli.Result r = Cli.runIn(dir, "rebase", "-u", "-b", backing, "-F", "raw", file);
        assertThat(r.exitCode()).as(r.err()).isZero();
        Images.replaceName(dir.resolve(file), placeholder, dataFile);
        Files.delete(dir.resolve(placeholder));
    }

    /** Runs q2 with {@code args} in the test folder under strace; returns the trace's lines. */
    private List<String> trace(String... args) throws Exception {
        Path log = dir.resolve("strace-" + System.nanoTime() + ".log");
        List<String> cmd = new ArrayList<>(List.of("strace", "-f", "-qq", "-e", "trace=%file,%network", "-s",
                "4096", "-o", log.toString(), Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xshare:auto", "-cp", System.getProperty("java.class.path"), "dev.q2.cli.Main"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("out-" + System.nanoTime()).toFile()).start();
        assertThat(p.waitFor(240, TimeUnit.SECONDS)).as("q2 under strace finished").isTrue();
        assertThat(p.exitValue()).as(String.join(" ", args)).isZero();
        List<String> lines = Files.readAllLines(log);
        Files.delete(log);
        return lines;
    }

    private static long count(List<String> lines, String needle) {
        return lines.stream().filter(l -> l.contains(needle)).count();
    }

    @Test
    void nothingTheImageNamesIsTouched() throws Exception {
        Files.writeString(dir.resolve("backing-secret"), "secret");
        Files.writeString(dir.resolve("json-secret"), "secret");
        Images.mkfifo(dir.resolve("data.fifo"));
        image("a.qcow2", dir.resolve("backing-secret").toString(), "data.fifo");
        image("b.qcow2", "json:{\"driver\":\"raw\",\"file.filename\":\"" + dir.resolve("json-secret") + "\"}",
                "nbd://127.0.0.1:1/export");
        image("c.qcow2", "/etc/passwd", "/etc/passwd");
        Images.qcow2(dir, "clean.qcow2", List.of());
        for (String command : new String[] {"check", "map"}) {
            long baseline = count(trace(command, "--no-references", "clean.qcow2"), "\"/etc/passwd\"");
            for (String image : new String[] {"a.qcow2", "b.qcow2", "c.qcow2"}) {
                List<String> lines = trace(command, "--no-references", image);
                assertThat(count(lines, "\"" + image + "\"") + count(lines, "/" + image + "\""))
                        .as("%s %s opens its image", command, image).isPositive();
                for (String name : new String[] {"backing-secret", "json-secret", "data.fifo", "nbd:", "127.0.0.1",
                    "htons(1)"}) {
                    assertThat(lines).as("%s --no-references %s: calls naming %s", command, image, name)
                            .noneMatch(l -> l.contains(name));
                }
                assertThat(count(lines, "\"/etc/passwd\"")).as("%s %s: calls naming /etc/passwd", command, image)
                        .isLessThanOrEqualTo(baseline);
            }
        }
    }
}
