package dev.q2.dd;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuText;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * q2 dd against qemu-img dd: the same operands on the same inputs (a qcow2 image with data and zeros, a 3-level
 * chain with extended L2 and a raw base, compressed clusters, a raw file of random bytes whose size is no multiple
 * of 512) must give the same exit code and stderr, and byte-identical outputs, raw and qcow2.
 */
@Tag("qemu")
class DdDifferentialTest {
    @TempDir
    static Path inputs;
    @TempDir
    Path dir;

    @BeforeAll
    static void makeInputs() throws Exception {
        if (!Qemu.available()) {
            return;
        }
        Qemu.imgOk(inputs, "create", "-q", "-f", "qcow2", "in.qcow2", "10000000");
        Qemu.ioOk(inputs, "in.qcow2", "write -P 7 0 100k", "write -P 9 5M 3M", "write -z 9M 64k");
        byte[] random = new byte[3_000_000];
        new Random(14).nextBytes(random);
        Files.write(inputs.resolve("in.raw"), random);
        Qemu.imgOk(inputs, "create", "-q", "-f", "qcow2", "-b", "in.raw", "-F", "raw", "-o",
                "cluster_size=4k", "mid.qcow2", "4M");
        Qemu.ioOk(inputs, "mid.qcow2", "write -P 3 1M 10k");
        Qemu.imgOk(inputs, "create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", "-o",
                "cluster_size=16k,extended_l2=on", "top.qcow2", "6M");
        Qemu.ioOk(inputs, "top.qcow2", "write -P 5 1000k 7k", "write -P 6 5M 4k");
        Qemu.ioOk(inputs, "in.qcow2", "write -c -P 8 2M 64k");
        Qemu.ioOk(inputs, "in.qcow2", "write -c -P 9 3M 64k");
    }

    static Stream<Arguments> cases() {
        List<Arguments> c = new ArrayList<>();
        for (String in : List.of("in.qcow2", "top.qcow2", "in.raw")) {
            for (String out : List.of("raw", "qcow2")) {
                c.add(Arguments.of("-O " + out + " if=IN/" + in + " of=@"));
                c.add(Arguments.of("-O " + out + " bs=64k if=IN/" + in + " of=@"));
                c.add(Arguments.of("-O " + out + " bs=7777 skip=3 count=500 if=IN/" + in + " of=@"));
                c.add(Arguments.of("-O " + out + " bs=1M count=3 skip=1 if=IN/" + in + " of=@"));
                c.add(Arguments.of("-O " + out + " bs=4k skip=100000 if=IN/" + in + " of=@"));
                c.add(Arguments.of("-O " + out + " bs=3 count=1000 if=IN/" + in + " of=@"));
            }
        }
        for (String s : new String[] {
            "-f raw -O qcow2 bs=1k count=1000 if=IN/in.raw of=@", "-f qcow2 if=IN/in.raw of=@",
            "-U bs=100000 count=30 skip=2 if=IN/in.raw of=@", "if=IN/in.qcow2 of=@ if=IN/in.raw",
            "bs=1 count=1 -O qcow2 if=IN/in.qcow2 of=@", "count=0 if=IN/in.qcow2 of=@",
            "if=IN/in.qcow2", "of=@", "", "if=IN/in.qcow2 of=@ x", "if=IN/in.qcow2 of=@ foo=1",
            "osize=1M if=IN/in.qcow2 of=@", "bs=0 if=IN/in.qcow2 of=@", "bs=2G if=IN/in.qcow2 of=@",
            "count=-1 if=IN/in.qcow2 of=@", "skip=1x if=IN/in.qcow2 of=@", "if=IN/missing of=@",
            "-O foo if=IN/in.qcow2 of=@", "if=IN/in.qcow2 of=NOPE/x", "-O qcow2 if=IN/in.qcow2 of=NOPE/x",
            "if=IN/in.qcow2 of=IN", "-x if=IN/in.qcow2 of=@", "-O", "if= of=@"}) {
            c.add(Arguments.of(s));
        }
        return c.stream();
    }

    @ParameterizedTest(name = "{index}: {0}")
    @MethodSource("cases")
    void sameOutputAndWords(String args) throws Exception {
        Qemu.assumeAvailable();
        Qemu.Result qr = Qemu.img(dir, argv(args, "q.out"));
        Cli.Result or = Cli.runIn(dir, argv(args, "o.out"));
        String why = args + "\nqemu-img: " + qr.exitCode() + " " + qr.err() + "\nq2: " + or.exitCode() + " " + or.err();
        assertThat(or.exitCode()).as(why).isEqualTo(qr.exitCode());
        assertThat(or.err().replace("o.out", "OUT")).as(why)
                .isEqualTo(QemuText.normalize(qr.err()).replace("q.out", "OUT"));
        assertThat(or.out()).isEqualTo(qr.out());
        Path q = dir.resolve("q.out");
        Path o = dir.resolve("o.out");
        assertThat(Files.exists(o)).as(why).isEqualTo(Files.exists(q));
        if (Files.exists(q)) {
            assertThat(Files.mismatch(q, o)).as(why + "\nfirst differing byte").isEqualTo(-1L);
        }
    }

    private static String[] argv(String args, String out) {
        List<String> a = new ArrayList<>();
        a.add("dd");
        for (String w : args.split(" ")) {
            if (!w.isEmpty()) {
                a.add(w.replace("@", out).replace("IN/", inputs + "/").replace("NOPE/", "/nonexistent-q2-dir/")
                        .replace("of=IN", "of=" + inputs));
            }
        }
        return a.toArray(String[]::new);
    }
}
