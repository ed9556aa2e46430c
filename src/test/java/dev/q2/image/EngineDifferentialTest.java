package dev.q2.image;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Fixtures;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The engine against qemu-img and qemu-io: raw conversions of every fixture image give qemu-img's bytes; the same
 * random qemu-io command streams run through q2 io and qemu-io give images qemu-img compare finds identical (and
 * qemu-img check finds clean); q2 convert into every layout gives clean images identical to the source.
 */
@Tag("qemu")
class EngineDifferentialTest extends QemuTest {
    @ParameterizedTest(name = "convert -O raw {0}")
    @MethodSource("dev.q2.testutil.Fixtures#caseNames")
    void rawConversionMatchesQemuImg(String name) throws Exception {
        Path fixture = Fixtures.caseDir(name);
        long virtualSize = Long.parseLong(Fixtures.read(fixture.resolve("info.json"))
                .replaceAll("(?s).*\"virtual-size\": (\\d+).*", "$1"));
        org.junit.jupiter.api.Assumptions.assumeTrue(virtualSize <= 256 << 20,
                "raw conversion of a " + virtualSize + "-byte disk is left to the benchmark");
        Fixtures.unpack(fixture, dir);
        Qemu.Result q = Qemu.img(dir, "convert", "-U", "-O", "raw", "img.qcow2", "qemu.raw");
        Cli.Result o = Cli.runIn(dir, "convert", "-U", "-O", "raw", "img.qcow2", "q2.raw");
        assertThat(o.exitCode()).as(o.err()).isEqualTo(q.exitCode());
        if (q.exitCode() == 0) {
            assertThat(Files.mismatch(dir.resolve("q2.raw"), dir.resolve("qemu.raw"))).isEqualTo(-1L);
        }
    }

    @ParameterizedTest(name = "io stream {0} backing {1}")
    @CsvSource(delimiter = '|', value = {
        "cluster_size=64k|none", "cluster_size=4k|none", "cluster_size=64k,extended_l2=on|none",
        "cluster_size=128k,extended_l2=on|qcow2", "cluster_size=64k|qcow2", "cluster_size=64k,compat=0.10|raw",
        "cluster_size=32k,refcount_bits=1|raw", "cluster_size=2M,extended_l2=on|none",
        "cluster_size=64k,lazy_refcounts=on|none",
    })
    void sameCommandStreamsGiveTheSameDisk(String options, String backing) throws Exception {
        long seed = Long.getLong("q2.seed", System.nanoTime());
        Random rnd = new Random(seed);
        long size = 24L << 20;
        List<String> create = new ArrayList<>(List.of("create", "-q", "-f", "qcow2", "-o", options));
        if (!backing.equals("none")) {
            Qemu.img(dir, "create", "-q", "-f", backing, "base." + backing, Long.toString(size - 100_000));
            if (backing.equals("qcow2")) {
                Qemu.io(dir, "-c", "write -P 0x5a 0 20M", "base.qcow2");
            } else {
                Qemu.io(dir, "-f", "raw", "-c", "write -P 0x5a 0 20M", "base.raw");
            }
            create.addAll(List.of("-b", "base." + backing, "-F", backing));
        }
        for (String img : List.of("q.qcow2", "o.qcow2")) {
            List<String> c = new ArrayList<>(create);
            c.add(img);
            c.add(Long.toString(size));
            assertThat(Qemu.img(dir, c.toArray(String[]::new)).exitCode()).isZero();
        }
        List<String> qArgs = new ArrayList<>();
        List<String> oArgs = new ArrayList<>(List.of("io"));
        for (int i = 0; i < 150; i++) {
            String cmd = randomCommand(rnd, size);
            qArgs.add("-c");
            qArgs.add(cmd);
            oArgs.add("-c");
            oArgs.add(cmd);
        }
        qArgs.add("q.qcow2");
        oArgs.add("o.qcow2");
        Qemu.Result q = Qemu.io(dir, qArgs.toArray(String[]::new));
        Cli.Result o = Cli.runIn(dir, oArgs.toArray(String[]::new));
        String what = "seed " + seed + " " + options;
        assertThat(o.exitCode()).as(what + o.err()).isEqualTo(q.exitCode());
        Qemu.Result cmp = Qemu.img(dir, "compare", "q.qcow2", "o.qcow2");
        assertThat(cmp.exitCode()).as(what + ": " + cmp.out()).isZero();
        Qemu.Result check = Qemu.img(dir, "check", "o.qcow2");
        assertThat(check.exitCode()).as(what + ": " + check.out() + check.err()).isZero();
    }

    @ParameterizedTest(name = "writes after a snapshot, {0}")
    @CsvSource(delimiter = '|', value = {"cluster_size=64k", "cluster_size=64k,extended_l2=on", "compat=0.10"})
    void clustersSharedWithASnapshotAreCopiedBeforeWriting(String options) throws Exception {
        long seed = Long.getLong("q2.seed", System.nanoTime());
        Random rnd = new Random(seed);
        long size = 16L << 20;
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "-o", options, "q.qcow2", Long.toString(size));
        Qemu.io(dir, "-c", "write -P 0x11 0 8M", "-c", "write -P 0x22 12M 1M", "q.qcow2");
        assertThat(Qemu.img(dir, "snapshot", "-c", "s1", "q.qcow2").exitCode()).isZero();
        Files.copy(dir.resolve("q.qcow2"), dir.resolve("o.qcow2"));
        List<String> qArgs = new ArrayList<>();
        List<String> oArgs = new ArrayList<>(List.of("io"));
        for (int i = 0; i < 100; i++) {
            String cmd = randomCommand(rnd, size);
            qArgs.addAll(List.of("-c", cmd));
            oArgs.addAll(List.of("-c", cmd));
        }
        qArgs.add("q.qcow2");
        oArgs.add("o.qcow2");
        Qemu.io(dir, qArgs.toArray(String[]::new));
        Cli.Result o = Cli.runIn(dir, oArgs.toArray(String[]::new));
        String what = "seed " + seed + " " + options;
        assertThat(o.exitCode()).as(what + o.err() + o.out().lines().filter(l -> !l.startsWith("wrote")
                && !l.contains(" ops; ") && !l.startsWith("discard")).toList()).isZero();
        assertThat(Qemu.img(dir, "compare", "q.qcow2", "o.qcow2").exitCode()).as(what).isZero();
        Qemu.Result check = Qemu.img(dir, "check", "o.qcow2");
        assertThat(check.exitCode()).as(what + ": " + check.out() + check.err()).isZero();
        // the snapshot still reads as it was taken
        Qemu.img(dir, "convert", "-l", "s1", "-O", "raw", "q.qcow2", "q-s1.raw");
        Qemu.img(dir, "convert", "-l", "s1", "-O", "raw", "o.qcow2", "o-s1.raw");
        assertThat(Files.mismatch(dir.resolve("q-s1.raw"), dir.resolve("o-s1.raw"))).as(what).isEqualTo(-1L);
        byte[] s1 = Files.readAllBytes(dir.resolve("o-s1.raw"));
        assertThat(s1[0]).isEqualTo((byte) 0x11);
        assertThat(s1[(12 << 20) + 5]).isEqualTo((byte) 0x22);
    }

    private static String randomCommand(Random rnd, long size) {
        long off = switch (rnd.nextInt(3)) {
            case 0 -> (long) rnd.nextInt((int) (size >> 16)) << 16;
            case 1 -> (long) rnd.nextInt((int) (size >> 12)) << 12;
            default -> (long) rnd.nextInt((int) (size >> 9)) << 9;
        };
        long len = Math.min(size - off, switch (rnd.nextInt(3)) {
            case 0 -> 4096L;
            case 1 -> 65536L * (1 + rnd.nextInt(4));
            default -> 512L * (1 + rnd.nextInt(300));
        });
        return switch (rnd.nextInt(10)) {
            case 0, 1 -> "write -z " + off + " " + len;
            case 2 -> "discard " + off + " " + len;
            case 3 -> "flush";
            default -> "write -P " + (1 + rnd.nextInt(255)) + " " + off + " " + len;
        };
    }

    @ParameterizedTest(name = "convert -O qcow2 -o {0} compressed {1}")
    @CsvSource(delimiter = '|', value = {
        "cluster_size=64k|false", "cluster_size=4k,refcount_bits=64|false", "extended_l2=on|false",
        "cluster_size=64k|true", "compression_type=zstd|true", "cluster_size=512|true", "compat=0.10|true",
        "preallocation=metadata|false", "cluster_size=2M,extended_l2=on|true",
    })
    void conversionsIntoEveryLayoutAreCleanAndIdentical(String options, boolean compress) throws Exception {
        Random rnd = new Random(options.hashCode());
        byte[] raw = new byte[5_000_000];
        for (int i = 0; i < raw.length; i += 65536) {
            int kind = rnd.nextInt(3);
            int n = Math.min(65536, raw.length - i);
            if (kind == 1) {
                for (int j = 0; j < n; j++) {
                    raw[i + j] = (byte) (j % 7 == 0 ? rnd.nextInt() : 'a' + j % 13); // compressible
                }
            } else if (kind == 2) {
                byte[] r = new byte[n];
                rnd.nextBytes(r);
                System.arraycopy(r, 0, raw, i, n);
            }
        }
        Files.write(dir.resolve("src.raw"), raw);
        List<String> args = new ArrayList<>(List.of("convert", "-f", "raw", "-O", "qcow2", "-o", options));
        if (compress) {
            args.add("-c");
        }
        args.add("src.raw");
        args.add("out.qcow2");
        Cli.Result r = Cli.runIn(dir, args.toArray(String[]::new));
        assertThat(r.exitCode()).as(r.err()).isZero();
        Qemu.Result check = Qemu.img(dir, "check", "out.qcow2");
        assertThat(check.exitCode()).as(check.out() + check.err()).isZero();
        Qemu.Result cmp = Qemu.img(dir, "compare", "-f", "raw", "-F", "qcow2", "src.raw", "out.qcow2");
        assertThat(cmp.exitCode()).as(cmp.out()).isZero();
        Cli.Result back = Cli.runIn(dir, "convert", "-O", "raw", "out.qcow2", "back.raw");
        assertThat(back.exitCode()).isZero();
        byte[] padded = java.util.Arrays.copyOf(raw, (raw.length + 511) / 512 * 512);
        assertThat(Files.readAllBytes(dir.resolve("back.raw"))).isEqualTo(padded);
        if (compress) {
            // qemu-img map shows compressed clusters as data without a host offset
            Qemu.Result map = Qemu.img(dir, "map", "--output=json", "out.qcow2");
            assertThat(map.out().lines().anyMatch(l -> l.contains("\"data\": true") && !l.contains("offset")))
                    .as(map.out()).isTrue();
        }
    }
}
