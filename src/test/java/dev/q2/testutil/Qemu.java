package dev.q2.testutil;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Runs qemu-img and qemu-io for differential tests; tests that need them are skipped when they are missing. */
public final class Qemu {
    private static Boolean available;

    private Qemu() {
    }

    public record Result(int exitCode, String out, String err) {
    }

    /** True when qemu-img 7.2 (the reference) is on PATH; other versions differ in details the tests pin. */
    public static synchronized boolean available() {
        if (available == null) {
            try {
                Process p = new ProcessBuilder("qemu-img", "--version").redirectErrorStream(true).start();
                String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                available = p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0
                        && v.startsWith("qemu-img version 7.2.");
            } catch (IOException e) {
                available = false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                available = false;
            }
        }
        return available;
    }

    /** Skips the calling test, saying why, unless qemu-img and qemu-io are on PATH. */
    public static void assumeAvailable() {
        assumeTrue(available(), "qemu-img 7.2 is not on PATH: differential test against it skipped");
    }

    public static Result img(Path dir, String... args) {
        return exec(dir, "qemu-img", args);
    }

    public static Result io(Path dir, String... args) {
        return exec(dir, "qemu-io", args);
    }

    private static Result exec(Path dir, String tool, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(tool);
        cmd.addAll(List.of(args));
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
            pb.environment().put("LC_ALL", "C");
            pb.environment().put("TZ", "UTC");
            Process p = pb.start();
            var errF = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return p.getErrorStream().readAllBytes();
                } catch (IOException e) {
                    return new byte[0];
                }
            });
            byte[] out = p.getInputStream().readAllBytes();
            byte[] err = errF.join();
            if (!p.waitFor(600, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(tool + " timed out");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8),
                    new String(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + tool, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
