package dev.q2.crypto;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * q2 io against qemu-io on an encrypted image, the key given as qemu-io takes it without --image-opts: --object and
 * {@code open -o encrypt.key-secret=ID}. Same output (timings masked), same errors, same exit codes; and what each
 * writes the other reads.
 */
@Tag("qemu")
class EncryptedIoCliDifferentialTest {
    @TempDir
    Path dir;

    @BeforeEach
    void needQemu() {
        Qemu.assumeAvailable();
    }

    private static String masked(String s) {
        return s.replaceAll("\\d+\\.\\d+ sec \\(.*\\)", "T").replace("qemu-io: ", "q2: ");
    }

    private void same(String object, String... commands) {
        List<String> args = new ArrayList<>(List.of("--object", object));
        for (String c : commands) {
            args.add("-c");
            args.add(c);
        }
        Qemu.Result o = Qemu.io(dir, args.toArray(String[]::new));
        List<String> q = new ArrayList<>(List.of("io"));
        q.addAll(args);
        Cli.Result r = Cli.runIn(dir, q.toArray(String[]::new));
        assertThat(masked(r.out())).as(String.join(" ", commands)).isEqualTo(masked(o.out()));
        assertThat(masked(r.err())).isEqualTo(masked(o.err()));
        assertThat(r.exitCode()).isEqualTo(o.exitCode());
    }

    @Test
    void openWithKeySecret() {
        for (String opts : new String[] {"encrypt.format=luks,encrypt.iter-time=10", "encrypt.format=aes"}) {
            Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "--object", "secret,id=sec0,data=astrochicken", "-o",
                    opts + ",encrypt.key-secret=sec0", "e.qcow2", "2M");
            String good = "secret,id=sec0,data=astrochicken";
            String open = "open -o encrypt.key-secret=sec0 e.qcow2";
            same(good, open, "write -P 0x11 1000 70000", "read -P 0x11 1000 70000", "read -P 0 0 1000");
            Cli.Result w = Cli.runIn(dir, "io", "--object", good, "-c", open, "-c", "write -P 0x22 65000 1000");
            assertThat(w.exitCode()).as(w.err()).isZero();
            same(good, open, "read -P 0x11 1000 64000", "read -P 0x22 65000 1000", "read -P 0x11 66000 5000");
            same("secret,id=sec0,data=platypus", open, "read 0 512");
            same(good, "open -o encrypt.key-secret=nosuch e.qcow2");
            same(good, "open e.qcow2");
        }
    }
}
