package dev.q2.testutil;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A folder for qemu-img's outputs and one for q2's, with the same inputs made in both by the same commands: a copy
 * would not keep holes and zero clusters as they are, and block status (what a conversion goes by) depends on them.
 */
public record TwoFolders(Path qemu, Path q2) {
    /** Creates {@code q/} (qemu-img's) and {@code o/} (q2's) in {@code dir}. */
    public static TwoFolders in(Path dir) throws IOException {
        return new TwoFolders(Files.createDirectory(dir.resolve("q")), Files.createDirectory(dir.resolve("o")));
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
        List<String> args = new ArrayList<>();
        if (format != null) {
            args.addAll(List.of("-f", format));
        }
        for (String c : commands) {
            args.add("-c");
            args.add(c);
        }
        args.add(image);
        for (Path d : List.of(qemu, q2)) {
            Qemu.Result r = Qemu.io(d, args.toArray(String[]::new));
            assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        }
    }
}
