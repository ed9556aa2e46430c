package dev.q2.testutil;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Runs the same qemu-io arguments through qemu-io and q2 io and compares what they print and their exit codes. */
public final class IoComparison {
    private IoComparison() {
    }

    /**
     * Runs {@code args} (no "io" in front) with qemu-io and q2 io in {@code dir}: stdout with the timing statistics
     * masked (as the iotests' filter masks them), stderr without the program's prefix, and the exit code must be
     * the same.
     *
     * @return qemu-io's result
     */
    public static Qemu.Result same(Path dir, String... args) {
        Qemu.Result q = Qemu.io(dir, args);
        String[] ours = new String[args.length + 1];
        ours[0] = "io";
        System.arraycopy(args, 0, ours, 1, args.length);
        Cli.Result r = Cli.runIn(dir, ours);
        String what = String.join(" ", args);
        assertThat(r.out().replaceAll("ops; .*", "ops; X")).as(what).isEqualTo(q.out().replaceAll("ops; .*", "ops; X"));
        assertThat(r.err().replace("q2: ", "")).as(what).isEqualTo(q.err().replace("qemu-io: ", ""));
        assertThat(r.exitCode()).as(what).isEqualTo(q.exitCode());
        return q;
    }
}
