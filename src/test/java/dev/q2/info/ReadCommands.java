package dev.q2.info;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** qemu-img and q2 running the same commands on one damaged file, for the info tests. */
final class ReadCommands {
    private ReadCommands() {
    }

    /**
     * Runs each command with qemu-img and with q2 in {@code dir}, a last argument {@code OUT.raw} becoming q.raw for
     * qemu-img and m.raw for q2: the same stderr (but for the program's name), stdout (q2 info's L2 cache report
     * left out) and exit code; converted files byte for byte the same. {@code label} names the case.
     */
    static void sameAsQemuImg(Path dir, String label, String[][] commands) throws IOException {
        for (String[] c : commands) {
            String[] q = c.clone();
            String[] m = c.clone();
            q[q.length - 1] = q[q.length - 1].replace("OUT", "q");
            m[m.length - 1] = m[m.length - 1].replace("OUT", "m");
            Qemu.Result qr = Qemu.img(dir, q);
            Cli.Result mr = Cli.runIn(dir, m);
            String out = mr.out();
            int l2 = out.indexOf("L2 cache:\n");
            if (l2 >= 0) {
                out = out.substring(0, l2); // q2 info's own addition
            }
            String what = label + String.join(" ", c);
            assertThat(mr.err()).as(what).isEqualTo(qr.err().replace("qemu-img: ", "q2: "));
            assertThat(out).as(what).isEqualTo(qr.out());
            assertThat(mr.exitCode()).as(what).isEqualTo(qr.exitCode());
        }
        Path qRaw = dir.resolve("q.raw");
        if (Files.exists(qRaw)) {
            assertThat(Files.mismatch(qRaw, dir.resolve("m.raw"))).as(label + "converted bytes").isEqualTo(-1L);
        }
    }
}
