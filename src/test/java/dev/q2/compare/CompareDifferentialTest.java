package dev.q2.compare;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * q2 compare against qemu-img compare: the same stdout, byte for byte, the same stderr (but for the program name)
 * and the same exit code. The strict cases pin how qemu-img compare -s compares block status: every flag of
 * bdrv_block_status_above through the whole chain (allocated, zero, data, offset valid, EOF), reported at the start
 * of the step where the flags first differ.
 */
@Tag("qemu")
class CompareDifferentialTest {
    @TempDir
    Path dir;

    private void commonImages() {
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "a.qcow2", "4M");
        Qemu.io(dir, "-c", "write -P 0x11 64k 128k", "-c", "write -z 1M 64k", "a.qcow2");
        Qemu.img(dir, "convert", "-O", "raw", "a.qcow2", "a.raw");
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "same.qcow2", "4M");
        Qemu.io(dir, "-c", "write -P 0x11 64k 128k", "same.qcow2");
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "-o", "extended_l2=on", "diff.qcow2", "4M");
        Qemu.io(dir, "-c", "write -P 0x11 64k 128k", "-c", "write -P 0x22 70001 1", "diff.qcow2");
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "bigzero.qcow2", "6M");
        Qemu.io(dir, "-c", "write -P 0x11 64k 128k", "bigzero.qcow2");
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "bigdata.qcow2", "6M");
        Qemu.io(dir, "-c", "write -P 0x11 64k 128k", "-c", "write -P 0x33 5000000 10", "bigdata.qcow2");
    }

    @ParameterizedTest(name = "compare {0}")
    @CsvSource(delimiter = '|', value = {
        "a.qcow2 same.qcow2", "a.qcow2 diff.qcow2", "diff.qcow2 a.qcow2", "a.qcow2 bigzero.qcow2",
        "bigzero.qcow2 a.qcow2", "a.qcow2 bigdata.qcow2", "-s a.qcow2 bigzero.qcow2",
        "-f qcow2 -F raw a.qcow2 a.raw", "a.raw a.qcow2", "-q a.qcow2 diff.qcow2", "a.qcow2 missing.qcow2",
        "-s a.qcow2 same.qcow2", "-s a.qcow2 a.raw", "-s -q a.qcow2 same.qcow2", "-s a.qcow2 missing.qcow2",
    })
    void sameOutputAndExitCodeAsQemuImg(String args) {
        Qemu.assumeAvailable();
        commonImages();
        assertSameAsQemuImg(args);
    }

    /** Images built for one case each: what the case needs and nothing more. */
    @FunctionalInterface
    interface Setup {
        void build(Builder b);
    }

    static Stream<Arguments> builtCases() {
        return Stream.of(
            // strict mode: block status
            c("strict: equal images", "-s a.qcow2 b.qcow2", b -> {
                b.qcow2("a.qcow2", "4M", "", "write -P 0x11 0 64k", "write -z 1M 64k");
                b.qcow2("b.qcow2", "4M", "", "write -P 0x11 0 64k", "write -z 1M 64k");
            }),
            c("strict: zero cluster against an unallocated run to the end (EOF)", "-s u.qcow2 z.qcow2", b -> {
                b.qcow2("u.qcow2", "4M", "", "write -P 0x11 0 64k");
                b.qcow2("z.qcow2", "4M", "", "write -P 0x11 0 64k", "write -z 3M 64k");
            }),
            c("strict: EOF only on the last L2 table's answer", "-s u.qcow2 z.qcow2", b -> {
                b.qcow2("u.qcow2", "8M", "cluster_size=4k", "write -P 0x11 0 4k");
                b.qcow2("z.qcow2", "8M", "cluster_size=4k", "write -P 0x11 0 4k", "write -z 7M 4k");
            }),
            c("strict: EOF on a 1 GiB image (two L2 tables)", "-s z.qcow2 u.qcow2", b -> {
                b.qcow2("u.qcow2", "1G", "", "write -P 0x11 0 64k");
                b.qcow2("z.qcow2", "1G", "", "write -P 0x11 0 64k", "write -z 700M 64k");
            }),
            c("strict: two zero clusters against one", "-s z2.qcow2 z.qcow2", b -> {
                b.qcow2("z.qcow2", "4M", "", "write -P 0x11 0 64k", "write -z 1M 64k");
                b.qcow2("z2.qcow2", "4M", "", "write -P 0x11 0 64k", "write -z 128k 64k", "write -z 1M 64k");
            }),
            c("strict: zeros written as data against a zero cluster", "-s d.qcow2 z.qcow2", b -> {
                b.qcow2("d.qcow2", "4M", "", "write -P 0x11 0 64k", "write -P 0 64k 64k");
                b.qcow2("z.qcow2", "4M", "", "write -P 0x11 0 64k", "write -z 64k 64k");
            }),
            c("strict: preallocated metadata against none", "-s p.qcow2 n.qcow2", b -> {
                b.qcow2("p.qcow2", "4M", "preallocation=metadata");
                b.qcow2("n.qcow2", "4M", "");
            }),
            c("strict: data over preallocated metadata (no RECURSE flag in the answer)", "-s p.qcow2 n.qcow2",
                b -> {
                    b.qcow2("p.qcow2", "4M", "preallocation=metadata", "write -P 0x11 0 64k");
                    b.qcow2("n.qcow2", "4M", "", "write -P 0x11 0 64k");
                }),
            c("strict: preallocated zero cluster (offset valid) against a plain one", "-s p.qcow2 n.qcow2", b -> {
                b.qcow2("p.qcow2", "4M", "preallocation=metadata", "write -z 0 4M");
                b.qcow2("n.qcow2", "4M", "", "write -z 0 4M");
            }),
            c("strict: data in the backing file or in the top image", "-s top.qcow2 own.qcow2", b -> {
                b.qcow2("base.qcow2", "4M", "", "write -P 0x11 0 64k");
                b.qcow2("top.qcow2", "4M", "backing_file=base.qcow2,backing_fmt=qcow2");
                b.qcow2("own.qcow2", "4M", "backing_file=base.qcow2,backing_fmt=qcow2", "write -P 0x11 0 64k");
            }),
            c("strict: three-level chain against a single image", "-s top.qcow2 one.qcow2", b -> {
                b.qcow2("base.qcow2", "4M", "", "write -P 0x11 0 64k");
                b.qcow2("mid.qcow2", "4M", "backing_file=base.qcow2,backing_fmt=qcow2", "write -P 0x22 1M 64k");
                b.qcow2("top.qcow2", "4M", "backing_file=mid.qcow2,backing_fmt=qcow2");
                b.qcow2("one.qcow2", "4M", "", "write -P 0x11 0 64k", "write -P 0x22 1M 64k");
            }),
            c("strict: past the end of a short backing file (allocated zeros)", "-s top.qcow2 one.qcow2", b -> {
                b.qcow2("base.qcow2", "1M", "", "write -P 0x11 0 64k");
                b.qcow2("top.qcow2", "4M", "backing_file=base.qcow2,backing_fmt=qcow2");
                b.qcow2("one.qcow2", "4M", "", "write -P 0x11 0 64k");
            }),
            c("strict: raw against qcow2 (holes have a host offset)", "-s -f raw -F qcow2 z.raw z.qcow2", b -> {
                b.qcow2("z.qcow2", "4M", "", "write -P 0x11 0 64k", "write -z 64k 4032k");
                b.img("convert", "-O", "raw", "z.qcow2", "z.raw");
            }),
            c("strict: qcow2 over a raw backing file against that raw file", "-s top.qcow2 base.raw", b -> {
                b.qcow2("base.qcow2", "4M", "", "write -P 0x11 0 64k");
                b.img("convert", "-O", "raw", "base.qcow2", "base.raw");
                b.qcow2("top.qcow2", "4M", "backing_file=base.raw,backing_fmt=raw");
            }),
            c("strict: raw file of 1000 bytes against its qcow2 copy", "-s odd.raw odd.qcow2", b -> {
                b.raw("odd.raw", 1000);
                b.img("convert", "-f", "raw", "-O", "qcow2", "odd.raw", "odd.qcow2");
            }),
            c("strict: extended L2 subclusters against whole clusters", "-s x.qcow2 n.qcow2", b -> {
                b.qcow2("x.qcow2", "4M", "extended_l2=on", "write -P 0x11 0 64k", "write -P 0x22 100k 4k");
                b.qcow2("n.qcow2", "4M", "", "write -P 0x11 0 64k", "write -P 0x22 100k 4k");
            }),
            c("strict: zero subclusters", "-s x.qcow2 y.qcow2", b -> {
                b.qcow2("x.qcow2", "4M", "extended_l2=on", "write -P 0x11 0 64k", "write -P 0x22 100k 4k",
                        "write -z 128k 8k");
                b.qcow2("y.qcow2", "4M", "extended_l2=on", "write -P 0x11 0 64k", "write -P 0x22 100k 4k");
            }),
            c("strict: 2 MiB clusters against 4 KiB clusters", "-s big.qcow2 small.qcow2", b -> {
                b.qcow2("big.qcow2", "4M", "cluster_size=2M", "write -P 0x11 0 64k", "write -P 0x22 100k 4k");
                b.qcow2("small.qcow2", "4M", "cluster_size=4k", "write -P 0x11 0 64k", "write -P 0x22 100k 4k");
            }),
            c("strict: compressed clusters (no host offset)", "-s c.qcow2 n.qcow2", b -> {
                b.qcow2("n.qcow2", "4M", "", "write -P 0x11 0 64k");
                b.img("convert", "-c", "-O", "qcow2", "n.qcow2", "c.qcow2");
            }),
            c("strict: external data file against none", "-s e.qcow2 n.qcow2", b -> {
                b.qcow2("e.qcow2", "4M", "data_file=e.data", "write -P 0x11 0 64k");
                b.qcow2("n.qcow2", "4M", "", "write -P 0x11 0 64k");
            }),
            c("strict: equal status, content mismatch past the first 2 MiB", "-s a.qcow2 b.qcow2", b -> {
                b.qcow2("a.qcow2", "8M", "", "write -P 0x11 0 6M");
                b.qcow2("b.qcow2", "8M", "", "write -P 0x11 0 6M", "write -P 0x12 5000000 1");
            }),
            c("strict: corrupt L2 entry (Sector allocation test failed, exit 3)", "-s u.qcow2 bad.qcow2", b -> {
                b.qcow2("u.qcow2", "4M", "", "write -P 0x11 0 64k");
                b.qcow2("bad.qcow2", "4M", "", "write -P 0x11 0 64k");
                b.unalignL2Entry("bad.qcow2", 1);
            }),
            c("strict quiet", "-s -q u.qcow2 z.qcow2", b -> {
                b.qcow2("u.qcow2", "4M", "", "write -P 0x11 0 64k");
                b.qcow2("z.qcow2", "4M", "", "write -P 0x11 0 64k", "write -z 3M 64k");
            }),
            // not strict: sizes in whole sectors; the size warning only once the common part matched
            c("raw file of 1000 bytes against its qcow2 copy", "odd.raw odd.qcow2", b -> {
                b.raw("odd.raw", 1000);
                b.img("convert", "-f", "raw", "-O", "qcow2", "odd.raw", "odd.qcow2");
            }),
            c("sizes differ and the common part differs", "a.raw b.raw", b -> {
                b.raw("a.raw", 1000);
                b.raw("b.raw", 1500);
            }));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("builtCases")
    void sameOutputAndExitCodeAsQemuImgOnBuiltImages(String name, String args, Setup setup) {
        Qemu.assumeAvailable();
        setup.build(new Builder(dir));
        assertSameAsQemuImg(args).run();
    }

    /** Compares exit code and stdout; the returned check compares stderr too, but for the program's name. */
    private Runnable assertSameAsQemuImg(String args) {
        List<String> a = new ArrayList<>(List.of("compare"));
        a.addAll(List.of(args.split(" ")));
        Qemu.Result q = Qemu.img(dir, a.toArray(String[]::new));
        Cli.Result o = Cli.runIn(dir, a.toArray(String[]::new));
        assertThat(o.exitCode()).as(args + ": " + o.err() + " / " + q.err()).isEqualTo(q.exitCode());
        assertThat(o.out()).as(args).isEqualTo(q.out());
        assertThat(o.err().isEmpty()).as(args + " stderr").isEqualTo(q.err().isEmpty());
        return () -> assertThat(o.err()).as(args + " stderr").isEqualTo(q.err().replace("qemu-img: ", "q2: "));
    }

    private static Arguments c(String name, String args, Setup setup) {
        return Arguments.of(name, args, setup);
    }

    /** Makes test images with qemu-img and qemu-io, failing the test when they fail. */
    static final class Builder {
        private final Path dir;
        private final java.util.Random random = new java.util.Random(1);

        Builder(Path dir) {
            this.dir = dir;
        }

        void img(String... args) {
            Qemu.Result r = Qemu.img(dir, args);
            assertThat(r.exitCode()).as("qemu-img " + String.join(" ", args) + ": " + r.err()).isZero();
        }

        /** A qcow2 image with creation options {@code opts} (may be empty), then qemu-io commands on it. */
        void qcow2(String name, String size, String opts, String... io) {
            if (opts.isEmpty()) {
                img("create", "-q", "-f", "qcow2", name, size);
            } else {
                img("create", "-q", "-f", "qcow2", "-o", opts, name, size);
            }
            if (io.length > 0) {
                List<String> args = new ArrayList<>();
                for (String cmd : io) {
                    args.add("-c");
                    args.add(cmd);
                }
                args.add(name);
                Qemu.Result r = Qemu.io(dir, args.toArray(String[]::new));
                assertThat(r.exitCode()).as("qemu-io " + args + ": " + r.err()).isZero();
                assertThat(r.out()).as("qemu-io " + args).doesNotContain("failed");
            }
        }

        /** Points L2 entry {@code index} of the first L2 table at an unaligned host offset (QEMU: corrupt). */
        void unalignL2Entry(String name, int index) {
            try (java.nio.channels.FileChannel f = java.nio.channels.FileChannel.open(dir.resolve(name),
                    java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8);
                f.read(b, 40); // l1_table_offset
                long l1 = b.flip().getLong();
                f.read(b.clear(), l1);
                long l2 = b.flip().getLong() & 0x00ff_ffff_ffff_fe00L;
                assertThat(l2).as("L2 table of " + name).isNotZero();
                f.write(b.clear().putLong(0x8000_0000_0005_0200L).flip(), l2 + 8L * index);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        /** A raw file of {@code length} random bytes. */
        void raw(String name, int length) {
            byte[] b = new byte[length];
            random.nextBytes(b);
            try {
                java.nio.file.Files.write(dir.resolve(name), b);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }
}
