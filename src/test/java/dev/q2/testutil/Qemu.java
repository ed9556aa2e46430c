package dev.q2.testutil;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
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

    /**
     * Skips the calling test, saying why, unless qemu-img and qemu-io are on PATH. Where the differential tests are
     * meant to run (CI sets {@code Q2_REQUIRE_QEMU=1}), a missing or different qemu-img fails the test instead, so
     * that a run cannot pass by skipping them.
     */
    public static void assumeAvailable() {
        if ("1".equals(System.getenv("Q2_REQUIRE_QEMU")) && !available()) {
            throw new AssertionError("Q2_REQUIRE_QEMU=1 but qemu-img 7.2 and qemu-io are not on PATH");
        }
        assumeTrue(available(), "qemu-img 7.2 is not on PATH: differential test against it skipped");
    }

    /**
     * Runs qemu-img. LUKS key derivation makes qemu-img time PBKDF2 on the CPU, which fails on a loaded machine
     * ("Unable to get accurate CPU usage"): that is the reference tool's flake, not a behaviour under test, so such a
     * run is repeated (up to 25 times, with a short pause).
     */
    public static Result img(Path dir, String... args) {
        Result r = exec(dir, "qemu-img", args);
        // It fails this way in about a third of the runs here even on an idle machine (7 of 20 LUKS creates with
        // iter-time=10), and fails fast: enough attempts make a spurious failure practically impossible.
        for (int attempt = 1; attempt < 25 && r.err().contains("Unable to get accurate CPU usage"); attempt++) {
            try {
                Thread.sleep(Math.min(50L * attempt, 500));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            r = exec(dir, "qemu-img", args);
        }
        return r;
    }

    public static Result io(Path dir, String... args) {
        return exec(dir, "qemu-io", args);
    }

    /** {@code r}, which must have exited 0 (else the test fails, showing what the tool printed). */
    public static Result ok(Result r) {
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        return r;
    }

    /** Runs qemu-img in {@code dir}; it must succeed. */
    public static Result imgOk(Path dir, String... args) {
        Result r = img(dir, args);
        assertThat(r.exitCode()).as(String.join(" ", args) + ": " + r.out() + r.err()).isZero();
        return r;
    }

    /** Runs qemu-io on {@code image} in {@code dir}, each of {@code commands} given with -c; it must succeed. */
    public static Result ioOk(Path dir, String image, String... commands) {
        return ok(io(dir, ioArgs(null, image, commands)));
    }

    /** qemu-io's arguments for {@code commands} (each with -c) on {@code image}, with -f {@code format} unless null. */
    public static String[] ioArgs(String format, String image, String... commands) {
        List<String> args = new ArrayList<>();
        if (format != null) {
            args.addAll(List.of("-f", format));
        }
        for (String c : commands) {
            args.add("-c");
            args.add(c);
        }
        args.add(image);
        return args.toArray(String[]::new);
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

    /** A running qemu-io that holds an image open for writing, with QEMU's locks taken, until closed. */
    public static final class Holder implements AutoCloseable {
        private final Process process;

        private Holder(Process process) {
            this.process = process;
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /**
     * Whether some process holds QEMU's "consistent read" permission byte on the file: through F_OFD_GETLK where the
     * JNI helper loads (reading /proc/locks can take the kernel seconds on a busy machine), else /proc/locks.
     */
    private static boolean locked(Path file) throws IOException {
        if (dev.q2.io.NativeFiles.available()) {
            int fd = dev.q2.io.NativeFiles.open(file);
            if (fd >= 0) {
                try {
                    return dev.q2.io.NativeFiles.lockTest(fd, 100, 1, true) != 0;
                } finally {
                    dev.q2.io.NativeFiles.close(fd);
                }
            }
        }
        long ino = ((Number) java.nio.file.Files.getAttribute(file, "unix:ino")).longValue();
        for (String l : java.nio.file.Files.readAllLines(Path.of("/proc/locks"))) {
            if (l.contains(":" + ino + " ")) {
                return true;
            }
        }
        return false;
    }

    /** Starts qemu-io on {@code image} (in {@code dir}) and returns once its locks show in /proc/locks. */
    public static Holder holdForWriting(Path dir, String image) throws IOException, InterruptedException {
        return holdForWriting(dir, null, image);
    }

    /** The same, with {@code -f format} unless {@code format} is null. */
    public static Holder holdForWriting(Path dir, String format, String image)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("qemu-io"));
        if (format != null) {
            cmd.addAll(List.of("-f", format));
        }
        cmd.addAll(List.of("-c", "sleep 20000", image));
        return hold(dir, image, cmd.toArray(String[]::new));
    }

    /** Starts {@code command} in {@code dir} and returns once it holds QEMU's locks on {@code image}. */
    public static Holder hold(Path dir, String image, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        Holder holder = new Holder(p);
        for (int i = 0; i < 200; i++) {
            if (locked(dir.resolve(image))) {
                return holder;
            }
            Thread.sleep(50);
        }
        holder.close();
        throw new IllegalStateException(String.join(" ", command) + " did not lock " + image);
    }
}
