package dev.q2.chain;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Backing chains built with qemu-img and qemu-io for the rebase and commit tests, and helpers to compare them. */
final class Chains {
    private Chains() {
    }

    /** Two levels, 64 KiB clusters, a zero write and data in the top. */
    static final String SIMPLE = "qemu-img create -f qcow2 base.qcow2 4M"
            + " && qemu-io -c 'write -P 1 0 1M' -c 'write -P 2 3M 100k' base.qcow2"
            + " && qemu-img create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2"
            + " && qemu-io -c 'write -P 3 512k 4k' -c 'write -z 3M 8k' top.qcow2"
            + " && qemu-img create -f qcow2 new.qcow2 4M"
            + " && qemu-io -c 'write -P 1 0 256k' -c 'write -P 5 2M 1000k' new.qcow2";

    /**
     * Three levels: a raw base, a 4 KiB-cluster middle with a compressed cluster, an extended-L2 128 KiB-cluster top
     * larger than the rest with an internal snapshot; a 16 KiB-cluster new backing file smaller than the top.
     */
    static final String MIXED = "qemu-img create -f raw base.raw 5M"
            + " && qemu-io -f raw -c 'write -P 1 0 1M' -c 'write -P 2 3M 100k' base.raw"
            + " && qemu-img create -f qcow2 -o cluster_size=4k -b base.raw -F raw mid.qcow2"
            + " && qemu-io -c 'write -P 7 100k 300k' -c 'write -c -P 8 2M 4k' mid.qcow2"
            + " && qemu-img create -f qcow2 -o extended_l2=on,cluster_size=128k -b mid.qcow2 -F qcow2 top.qcow2 8M"
            + " && qemu-io -c 'write -P 3 512k 4k' -c 'write -z 3M 8k' -c 'write -P 4 6M 70k' top.qcow2"
            + " && qemu-img create -f qcow2 -o cluster_size=16k new.qcow2 3M"
            + " && qemu-io -c 'write -P 1 0 256k' -c 'write -P 5 2M 1000k' new.qcow2"
            + " && qemu-img snapshot -c s1 top.qcow2 && qemu-io -c 'write -P 9 0 64k' top.qcow2";

    /**
     * In a subfolder: a 1 GiB base, a version 2 middle, a 2 GiB top with lazy refcounts, a persistent bitmap and a
     * compressed cluster (committing it grows the middle's L1 table).
     */
    static final String SUBFOLDER = "mkdir sub && qemu-img create -f qcow2 sub/base.qcow2 1G"
            + " && qemu-io -c 'write -P 1 0 1M' -c 'write -P 2 900M 100k' sub/base.qcow2"
            + " && qemu-img create -f qcow2 -o compat=0.10 -b base.qcow2 -F qcow2 sub/mid.qcow2"
            + " && qemu-io -c 'write -P 7 100k 300k' sub/mid.qcow2"
            + " && qemu-img create -f qcow2 -o lazy_refcounts=on -b mid.qcow2 -F qcow2 sub/top.qcow2 2G"
            + " && qemu-img bitmap --add sub/top.qcow2 b0"
            + " && qemu-io -c 'write -P 3 512k 4k' -c 'write -z 3M 8k' -c 'write -P 4 1500M 70k'"
            + " -c 'write -c -P 6 10M 64k' sub/top.qcow2"
            + " && qemu-img create -f qcow2 sub/new.qcow2 1G"
            + " && qemu-io -c 'write -P 1 0 256k' -c 'write -P 5 2M 1000k' sub/new.qcow2";

    static void build(Path dir, String script) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Process p = new ProcessBuilder("bash", "-c", "set -e; " + script).directory(dir.toFile())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
    }

    static void copyTree(Path from, Path to) throws IOException {
        for (Path f : files(from)) {
            Files.createDirectories(to.resolve(f).getParent());
            Files.copy(from.resolve(f), to.resolve(f));
        }
    }

    /** Every regular file under {@code dir}, relative. */
    static List<Path> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).map(dir::relativize).sorted().toList();
        }
    }

    /** q2's messages in qemu-img's words: the program name is the only difference allowed. */
    static String asQemu(String q2) {
        return q2.replace("q2: ", "qemu-img: ").replace("'q2 --help'", "'qemu-img --help'");
    }

    /** Runs qemu-img in {@code q} and q2 in {@code j}; their exit codes, stdout and stderr must be the same. */
    static void runBoth(Path q, Path j, String... args) {
        Qemu.Result want = Qemu.img(q, args);
        Cli.Result got = Cli.runIn(j, args);
        String what = String.join(" ", args);
        assertThat(asQemu(got.err())).as("stderr of " + what).isEqualTo(want.err());
        assertThat(got.out()).as("stdout of " + what).isEqualTo(want.out());
        assertThat(got.exitCode()).as("exit code of " + what).isEqualTo(want.exitCode());
    }

    /** Every file the same byte for byte, except {@code except} (then compared by guest data and check). */
    static void sameFiles(Path q, Path j, String... except) throws IOException {
        List<Path> fq = files(q);
        assertThat(files(j)).isEqualTo(fq);
        List<String> skip = List.of(except);
        for (Path f : fq) {
            if (skip.contains(f.toString())) {
                continue;
            }
            assertThat(Files.mismatch(q.resolve(f), j.resolve(f))).as(f + " differs at byte").isEqualTo(-1L);
        }
    }

    /**
     * Every image (every file but raw ones named *.raw) reads the same guest data in both folders (each over its
     * own chain), and is clean for qemu-img check.
     */
    static void sameGuestData(Path q, Path j) throws IOException {
        for (Path f : files(q)) {
            String name = f.toString();
            if (!name.endsWith(".qcow2")) {
                continue;
            }
            Qemu.Result c = Qemu.img(q.getParent(), "compare", q.getFileName() + "/" + name,
                    j.getFileName() + "/" + name);
            assertThat(c.exitCode()).as(name + ": " + c.out() + c.err()).isZero();
            Qemu.Result check = Qemu.img(j, "check", name);
            assertThat(check.exitCode()).as(name + ": " + check.out() + check.err()).isZero();
        }
    }
}
