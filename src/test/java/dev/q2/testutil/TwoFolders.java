package dev.q2.testutil;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A folder for qemu-img's outputs and one for q2's, with the same inputs in both. Inputs are either made in both by
 * the same commands ({@link #img}, {@link #io}: a copy would not keep holes and zero clusters as they are, and block
 * status, what a conversion goes by, depends on them), or made once and copied ({@link #buildOnce}: snapshots carry
 * the time they were taken, so two builds differ).
 */
public record TwoFolders(Path qemu, Path q2) {
    /** Creates {@code q/} (qemu-img's) and {@code o/} (q2's) in {@code dir}. */
    public static TwoFolders in(Path dir) throws IOException {
        return new TwoFolders(Files.createDirectory(dir.resolve("q")), Files.createDirectory(dir.resolve("o")));
    }

    /** Creates {@code qN/} and {@code oN/} in {@code dir}, N the first number not used there yet: a pair a case. */
    public static TwoFolders next(Path dir) throws IOException {
        int n = 0;
        while (Files.exists(dir.resolve("q" + n))) {
            n++;
        }
        return new TwoFolders(Files.createDirectory(dir.resolve("q" + n)), Files.createDirectory(dir.resolve("o" + n)));
    }

    /** Runs qemu-img with these arguments in both folders; each run must succeed. */
    public void img(String... args) {
        for (Path d : List.of(qemu, q2)) {
            Qemu.Result r = Qemu.img(d, args);
            assertThat(r.exitCode()).as(String.join(" ", args) + ": " + r.err()).isZero();
        }
    }

    /** Runs qemu-io commands (each one -c) on {@code image} in both folders, with {@code -f format} unless null. */
    public void io(String format, String image, String... commands) {
        for (Path d : List.of(qemu, q2)) {
            Qemu.ok(Qemu.io(d, Qemu.ioArgs(format, image, commands)));
        }
    }

    /** Runs {@code script} with bash ({@code set -e}) in {@code dir}, creating it; the script must succeed. */
    public static void sh(Path dir, String script) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Process p = new ProcessBuilder("bash", "-c", "set -e; " + script).directory(dir.toFile())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(script + ": " + out).isZero();
    }

    /** Runs {@code script} in qemu-img's folder, then copies every file it made (subfolders too) into q2's. */
    public TwoFolders buildOnce(String script) throws IOException, InterruptedException {
        sh(qemu, script);
        copyTree(qemu, q2);
        return this;
    }

    /** Copies every file under {@code from} to the same place under {@code to}. */
    public static void copyTree(Path from, Path to) throws IOException {
        for (Path f : files(from)) {
            Files.createDirectories(to.resolve(f).getParent());
            Files.copy(from.resolve(f), to.resolve(f));
        }
    }

    /** Every regular file under {@code dir}, relative, sorted. */
    public static List<Path> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).map(dir::relativize).sorted().toList();
        }
    }

    /** q2's messages in qemu-img's words: the program name is the only difference allowed. */
    public static String asQemu(String q2Text) {
        return q2Text.replace("q2: ", "qemu-img: ").replace("'q2 --help'", "'qemu-img --help'");
    }

    /**
     * Runs qemu-img in qemu-img's folder and q2 in q2's with the same arguments: the same exit code, stdout and
     * stderr (but for the program's name). Returns qemu-img's result.
     */
    public Qemu.Result runBoth(String... args) {
        Qemu.Result want = Qemu.img(qemu, args);
        Cli.Result got = Cli.runIn(q2, args);
        String what = String.join(" ", args);
        assertThat(asQemu(got.err())).as("stderr of " + what).isEqualTo(want.err());
        assertThat(got.out()).as("stdout of " + what).isEqualTo(want.out());
        assertThat(got.exitCode()).as("exit code of " + what).isEqualTo(want.exitCode());
        return want;
    }

    /** The same files in both folders, each byte for byte, except those named in {@code except} (relative). */
    public void sameFiles(String... except) throws IOException {
        List<Path> fq = files(qemu);
        assertThat(files(q2)).isEqualTo(fq);
        List<String> skip = List.of(except);
        for (Path f : fq) {
            if (!skip.contains(f.toString())) {
                assertThat(Files.mismatch(qemu.resolve(f), q2.resolve(f))).as(f + " differs at byte")
                        .isEqualTo(-1L);
            }
        }
    }

    /**
     * qemu-img and q2 with the same {@code args}, each in a new empty folder of a new pair in {@code dir}: the same
     * exit code, stdout and stderr, and the same files left behind, byte for byte.
     */
    public static void sameInNewFolders(Path dir, String... args) throws IOException {
        TwoFolders both = next(dir);
        both.runBoth(args);
        both.sameFiles();
    }

    /**
     * A command that changes an image in place (amend, resize) with {@code args}, by both tools on copies of what
     * {@code setup} (a shell script) makes in a new pair of folders in {@code dir}: the same exit code, stdout and
     * stderr, every file byte for byte afterwards, and, where the command succeeded on an image of {@code setup}'s
     * making (not a truncated file), img.qcow2 as clean for qemu-img check after q2 as after qemu-img (qemu-img leaves
     * some images corrupt: docs/compatibility.md).
     */
    public static void sameInPlace(Path dir, String setup, String command, String... args)
            throws IOException, InterruptedException {
        List<String> full = new ArrayList<>(List.of(command));
        full.addAll(List.of(args));
        TwoFolders both = next(dir).buildOnce(setup);
        Qemu.Result expected = both.runBoth(full.toArray(String[]::new));
        both.sameFiles();
        if (expected.exitCode() == 0 && Files.exists(both.q2.resolve("img.qcow2")) && !setup.contains("truncate")) {
            Qemu.Result check = Qemu.img(both.q2, "check", "img.qcow2");
            Qemu.Result reference = Qemu.img(both.qemu, "check", "img.qcow2");
            assertThat(check.exitCode()).as(setup + " | " + String.join(" ", args) + ": " + check.out())
                    .isEqualTo(reference.exitCode());
        }
    }
}
