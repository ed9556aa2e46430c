package dev.q2.convert;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.TwoFolders;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Base of the convert differential tests: qemu-img works in q/, q2 in o/, each on inputs made there by the same
 * commands (a copy would not keep holes and zero clusters as they are, and block status, what a conversion goes by,
 * depends on them). The inputs the tests share are made here.
 */
@Tag("qemu")
abstract class TwoFolderConvertTest {
    @TempDir
    Path dir;
    Path q;
    Path o;
    TwoFolders both;

    @BeforeEach
    void twoFolders() throws IOException {
        Qemu.assumeAvailable();
        both = TwoFolders.in(dir);
        q = both.qemu();
        o = both.q2();
    }

    /** Runs qemu-img in both folders; it must succeed. */
    void img(String... args) {
        both.img(args);
    }

    /**
     * base.qcow2 (created with {@code -o baseOpts} unless null; data in its first 5 MiB) <- mid.qcow2 <- top.qcow2,
     * all {@code size} bytes (6 MiB), with data, zeros and discards in each.
     */
    void chain(String baseOpts, long size) {
        String s = Long.toString(size);
        if (baseOpts == null) {
            img("create", "-q", "-f", "qcow2", "base.qcow2", s);
        } else {
            img("create", "-q", "-f", "qcow2", "-o", baseOpts, "base.qcow2", s);
        }
        both.io(null, "base.qcow2", "write -P 0x11 0 5M");
        img("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "mid.qcow2", s);
        both.io(null, "mid.qcow2", "write -P 0x22 64k 64k", "write -z 256k 128k", "write -P 0 512k 64k",
                "write -P 0x23 1M 4k", "discard 2M 64k", "write -P 0x24 5M 100k");
        img("create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", "top.qcow2", s);
        both.io(null, "top.qcow2", "write -P 0x33 128k 64k", "write -z 1M 3k", "write -P 0x34 3000k 7k",
                "write -z 4M 256k", "write -P 0 5200k 8k");
    }

    /**
     * A sparse raw file of {@code length} bytes in both folders: 40 random runs starting in the first {@code span}
     * bytes, each data, zeros written as data, data with a zero gap, or left a hole (seeded by {@code seed}).
     */
    void randomRaw(String name, long length, long span, long seed) throws IOException {
        for (Path d : List.of(q, o)) {
            Random rnd = new Random(seed);
            try (RandomAccessFile f = new RandomAccessFile(d.resolve(name).toFile(), "rw")) {
                f.setLength(length);
                for (int i = 0; i < 40; i++) {
                    long at = (long) (rnd.nextDouble() * (span - 200_000));
                    byte[] b = new byte[1 + rnd.nextInt(150_000)];
                    int kind = rnd.nextInt(4);
                    if (kind > 0) {
                        rnd.nextBytes(b);
                        if (kind == 2) {
                            Arrays.fill(b, b.length / 3, b.length / 3 + rnd.nextInt(b.length / 2 + 1), (byte) 0);
                        }
                    }
                    f.seek(at);
                    f.write(b);
                }
            }
        }
    }

    /**
     * An existing raw target in both folders: {@code size} bytes of 0xaa except a hole of 1 MiB from {@code holeAt}
     * (none when negative), so that both kinds of area are overwritten and kept.
     */
    void target(String name, long size, long holeAt) throws IOException {
        byte[] chunk = new byte[1 << 20];
        Arrays.fill(chunk, (byte) 0xaa);
        for (Path d : List.of(q, o)) {
            try (RandomAccessFile f = new RandomAccessFile(d.resolve(name).toFile(), "rw")) {
                f.setLength(size);
                for (long at = 0; at < size; at += chunk.length) {
                    if (holeAt >= 0 && at >= holeAt && at < holeAt + (1 << 20)) {
                        continue;
                    }
                    f.seek(at);
                    f.write(chunk, 0, (int) Math.min(chunk.length, size - at));
                }
            }
        }
    }

    /**
     * Runs qemu-img in q/ and q2 in o/ with {@code args}: the same exit code, stdout and stderr (q2 says "q2:" where
     * qemu-img says "qemu-img:"). Returns qemu-img's result.
     */
    Qemu.Result runBoth(String... args) {
        String what = String.join(" ", args);
        Qemu.Result qr = Qemu.img(q, args);
        Cli.Result or = Cli.runIn(o, args);
        assertThat(or.exitCode()).as(what + ": " + or.err() + " / qemu-img: " + qr.err()).isEqualTo(qr.exitCode());
        assertThat(or.out()).as(what).isEqualTo(qr.out());
        assertThat(or.err()).as(what).isEqualTo(qr.err().replace("qemu-img: ", "q2: "));
        return qr;
    }
}
