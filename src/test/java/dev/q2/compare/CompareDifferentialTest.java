package dev.q2.compare;

import dev.q2.testutil.Cli;
import dev.q2.testutil.ImageBytes;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
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
class CompareDifferentialTest extends QemuTest {
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
        commonImages();
        assertSameAsQemuImg(args).run();
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
            c("strict: corrupt L2 entry (Sector allocation test failed, exit 3)", "-s u.qcow2 bad.qcow2",
                b -> b.unalignedTwin(1)),
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
            }),
            // not strict: block status through the chain, as in strict mode, so corrupt metadata fails the query
            c("corrupt L2 entry, second image (Sector allocation test failed, exit 3)", "u.qcow2 bad.qcow2",
                b -> b.unalignedTwin(1)),
            c("corrupt L2 entry, first image", "bad.qcow2 u.qcow2", b -> b.unalignedTwin(1)),
            c("strict: corrupt L2 entry, first image", "-s bad.qcow2 u.qcow2", b -> b.unalignedTwin(1)),
            c("corrupt L2 entry at index 0 (%#x prints 0 as 0)", "u.qcow2 bad.qcow2", b -> b.unalignedTwin(0)),
            c("both corrupt: the first query that fails is reported", "late.qcow2 early.qcow2", b -> {
                b.qcow2("late.qcow2", "4M", "", "write -P 0x11 0 256k");
                b.unalignL2Entry("late.qcow2", 3);
                b.qcow2("early.qcow2", "4M", "", "write -P 0x11 0 256k");
                b.unalignL2Entry("early.qcow2", 1);
            }),
            c("unaligned L2 table offset (L1 index 0)", "u.qcow2 bad.qcow2", b -> {
                b.twins("u.qcow2", "bad.qcow2");
                b.l1Entry("bad.qcow2", 0, e -> e | 0x200);
            }),
            c("strict: unaligned L2 table offset", "-s bad.qcow2 u.qcow2", b -> {
                b.twins("u.qcow2", "bad.qcow2");
                b.l1Entry("bad.qcow2", 0, e -> e | 0x200);
            }),
            c("corrupt L2 entry in the longer image's tail (warning, then exit 3)", "u.qcow2 big.qcow2", b -> {
                b.qcow2("u.qcow2", "4M", "", "write -P 0x11 0 64k");
                b.qcow2("big.qcow2", "8M", "", "write -P 0x11 0 64k", "write -P 0x22 5M 64k");
                b.unalignL2Entry("big.qcow2", 80);
            }),
            c("L2 table past the end of the file reads as unallocated", "n.qcow2 gone.qcow2", b -> {
                b.qcow2("n.qcow2", "4M", "", "write -P 0x11 0 64k");
                b.qcow2("gone.qcow2", "4M", "", "write -P 0x11 0 64k");
                b.l1Entry("gone.qcow2", 0, e -> 0x8000_0001_0000_0000L);
            }),
            c("data cluster past the end of the file reads as zeros", "n.qcow2 beyond.qcow2", b -> {
                b.qcow2("n.qcow2", "4M", "", "write -P 0x11 0 128k");
                b.qcow2("beyond.qcow2", "4M", "", "write -P 0x11 0 128k");
                b.l2Entry("beyond.qcow2", 1, e -> 0x8000_0001_0000_0000L);
            }),
            c("strict: data cluster past the end of the file reads as zeros", "-s beyond.qcow2 z.qcow2", b -> {
                b.qcow2("z.qcow2", "4M", "", "write -P 0x11 0 64k", "write -P 0 64k 64k");
                b.qcow2("beyond.qcow2", "4M", "", "write -P 0x11 0 128k");
                b.l2Entry("beyond.qcow2", 1, e -> 0x8000_0001_0000_0000L);
            }),
            // reads that fail where block status does not: qemu-img exits 4
            c("compressed cluster that does not decompress, second image (exit 4)", "n.qcow2 bad.qcow2", b -> {
                b.compressedCopy("bad.qcow2");
                b.garbleCompressedCluster("bad.qcow2", 1);
            }),
            c("compressed cluster that does not decompress, first image", "bad.qcow2 n.qcow2", b -> {
                b.compressedCopy("bad.qcow2");
                b.garbleCompressedCluster("bad.qcow2", 1);
            }),
            c("strict: compressed cluster that does not decompress", "-s bad.qcow2 c.qcow2", b -> {
                b.compressedCopy("c.qcow2");
                b.img("convert", "-c", "-O", "qcow2", "n.qcow2", "bad.qcow2");
                b.garbleCompressedCluster("bad.qcow2", 1);
            }),
            c("compressed cluster past the end of the file", "n.qcow2 bad.qcow2", b -> {
                b.compressedCopy("bad.qcow2");
                b.compressedClusterAt("bad.qcow2", 1, 1L << 30);
            }),
            c("compressed cluster that does not decompress in the longer image's tail", "u.qcow2 big.qcow2", b -> {
                b.qcow2("u.qcow2", "4M", "", "write -P 0x11 0 64k");
                b.qcow2("big.qcow2", "8M", "", "write -P 0x11 0 64k", "write -c -P 0x22 5M 64k");
                b.garbleCompressedCluster("big.qcow2", 80);
            }),
            // images that cannot be opened (exit 2): qemu-img's words, the file name twice where QEMU's file driver
            // adds it
            c("missing second image", "a.qcow2 missing.qcow2", b -> b.qcow2("a.qcow2", "4M", "")),
            c("missing first image", "missing.qcow2 a.qcow2", b -> b.qcow2("a.qcow2", "4M", "")),
            c("both missing: the first is reported", "missing1 missing2", b -> { }),
            c("dangling symbolic link", "a.qcow2 link.qcow2", b -> {
                b.qcow2("a.qcow2", "4M", "");
                b.symlink("link.qcow2", "nowhere.qcow2");
            }),
            c("unknown driver, checked before the file is opened", "-f foo missing.qcow2 a.qcow2", b -> { }),
            c("raw format, missing file", "-f raw missing.qcow2 a.qcow2", b -> { }),
            c("a directory", "-s a.qcow2 dir", b -> {
                b.qcow2("a.qcow2", "4M", "");
                b.dir("dir");
            }),
            c("not a qcow2 image (-F qcow2)", "-F qcow2 a.qcow2 text.txt", b -> {
                b.qcow2("a.qcow2", "4M", "");
                b.file("text.txt", "hello\n");
            }),
            c("empty file (-f qcow2)", "-f qcow2 empty.raw a.qcow2", b -> {
                b.qcow2("a.qcow2", "4M", "");
                b.file("empty.raw", "");
            }),
            c("unsupported qcow2 version", "a.qcow2 bad.qcow2", b -> {
                b.qcow2("a.qcow2", "4M", "");
                b.qcow2("bad.qcow2", "4M", "");
                b.patch("bad.qcow2", 4, 0, 0, 0, 5);
            }),
            c("unsupported cluster size", "bad.qcow2 a.qcow2", b -> {
                b.qcow2("a.qcow2", "4M", "");
                b.qcow2("bad.qcow2", "4M", "");
                b.patch("bad.qcow2", 20, 0, 0, 0, 48);
            }),
            c("missing backing file", "a.qcow2 top.qcow2", b -> {
                b.qcow2("a.qcow2", "4M", "");
                b.img("create", "-q", "-f", "qcow2", "-u", "-b", "nothere.qcow2", "-F", "qcow2", "top.qcow2", "4M");
            }),
            c("missing backing file in a subfolder", "-s top.qcow2 a.qcow2", b -> {
                b.qcow2("a.qcow2", "4M", "");
                b.img("create", "-q", "-f", "qcow2", "-u", "-b", "sub/base.qcow2", "-F", "qcow2", "top.qcow2",
                        "4M");
            }),
            c("backing file with a bad header", "a.qcow2 top.qcow2", b -> {
                b.qcow2("a.qcow2", "4M", "");
                b.qcow2("base.qcow2", "4M", "");
                b.patch("base.qcow2", 4, 0, 0, 0, 5);
                b.img("create", "-q", "-f", "qcow2", "-u", "-b", "base.qcow2", "-F", "qcow2", "top.qcow2", "4M");
            }),
            c("missing external data file", "a.qcow2 e.qcow2", b -> {
                b.qcow2("a.qcow2", "4M", "");
                b.qcow2("e.qcow2", "4M", "data_file=e.data");
                b.delete("e.data");
            }));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("builtCases")
    void sameOutputAndExitCodeAsQemuImgOnBuiltImages(String name, String args, Setup setup) {
        setup.build(new Builder(dir));
        assertSameAsQemuImg(args).run();
    }

    /** An empty file name: QEMU's file driver wants one. */
    @org.junit.jupiter.api.Test
    void emptyFileName() {
        new Builder(dir).qcow2("a.qcow2", "4M", "");
        assertSameAsQemuImg("a.qcow2", "").run();
        assertSameAsQemuImg("", "a.qcow2").run();
    }

    /**
     * Images that a running QEMU (qemu-io) holds for writing: the qcow2 driver refuses to share writes to its image
     * file, so compare fails with QEMU's two lines (under "Could not open backing file:" for a backing file); a raw
     * image, a raw backing file and an external data file share writes, so compare goes ahead. -U skips the locks.
     */
    @org.junit.jupiter.api.Test
    void imagesHeldByAWriter() throws Exception {
        Builder b = new Builder(dir);
        b.qcow2("a.qcow2", "4M", "", "write -P 0x11 0 64k");
        b.qcow2("held.qcow2", "4M", "", "write -P 0x11 0 64k");
        b.img("convert", "-O", "raw", "a.qcow2", "held.raw");
        b.img("create", "-q", "-f", "qcow2", "-b", "held.qcow2", "-F", "qcow2", "over-qcow2.qcow2", "4M");
        b.img("create", "-q", "-f", "qcow2", "-b", "held.raw", "-F", "raw", "over-raw.qcow2", "4M");
        b.qcow2("e.qcow2", "4M", "data_file=held.data", "write -P 0x11 0 64k");
        try (Qemu.Holder qcow2 = Qemu.holdForWriting(dir, "qcow2", "held.qcow2");
             Qemu.Holder raw = Qemu.holdForWriting(dir, "raw", "held.raw");
             Qemu.Holder data = Qemu.holdForWriting(dir, "raw", "held.data")) {
            for (String args : List.of("a.qcow2 held.qcow2", "held.qcow2 a.qcow2", "-U a.qcow2 held.qcow2",
                    "a.qcow2 held.raw", "over-qcow2.qcow2 a.qcow2", "-s over-qcow2.qcow2 a.qcow2",
                    "-U over-qcow2.qcow2 a.qcow2", "a.qcow2 over-raw.qcow2", "e.qcow2 a.qcow2")) {
                assertSameAsQemuImg(args.split(" ")).run();
            }
        }
    }

    /** Compares exit code and stdout; the returned check compares stderr too, but for the program's name. */
    private Runnable assertSameAsQemuImg(String args) {
        return assertSameAsQemuImg(args.split(" "));
    }

    private Runnable assertSameAsQemuImg(String... argv) {
        String args = String.join(" ", argv);
        List<String> a = new ArrayList<>(List.of("compare"));
        a.addAll(List.of(argv));
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
            Qemu.imgOk(dir, args);
        }

        /** A qcow2 image with creation options {@code opts} (may be empty), then qemu-io commands on it. */
        void qcow2(String name, String size, String opts, String... io) {
            if (opts.isEmpty()) {
                img("create", "-q", "-f", "qcow2", name, size);
            } else {
                img("create", "-q", "-f", "qcow2", "-o", opts, name, size);
            }
            if (io.length > 0) {
                Qemu.Result r = Qemu.ioOk(dir, name, io);
                assertThat(r.out()).as("qemu-io " + List.of(io)).doesNotContain("failed");
            }
        }

        /** Two equal 4 MiB images, 64 KiB of data at the start of each (one is then damaged). */
        void twins(String first, String second) {
            qcow2(first, "4M", "", "write -P 0x11 0 64k");
            qcow2(second, "4M", "", "write -P 0x11 0 64k");
        }

        /** u.qcow2 and bad.qcow2 as {@link #twins}, L2 entry {@code index} of bad.qcow2 then unaligned. */
        void unalignedTwin(int index) {
            twins("u.qcow2", "bad.qcow2");
            unalignL2Entry("bad.qcow2", index);
        }

        /** n.qcow2 (two clusters of data) and {@code name}, a compressed copy of it. */
        void compressedCopy(String name) {
            qcow2("n.qcow2", "4M", "", "write -P 0x11 0 64k", "write -P 0x22 64k 64k");
            img("convert", "-c", "-O", "qcow2", "n.qcow2", name);
        }

        /** Points L2 entry {@code index} of the first L2 table at an unaligned host offset (QEMU: corrupt). */
        void unalignL2Entry(String name, int index) {
            l2Entry(name, index, e -> 0x8000_0000_0005_0200L);
        }

        /** Rewrites L1 entry {@code index}. */
        void l1Entry(String name, int index, java.util.function.LongUnaryOperator change) {
            long l1 = readLong(name, 40); // l1_table_offset
            writeLong(name, l1 + 8L * index, change.applyAsLong(readLong(name, l1 + 8L * index)));
        }

        /** Rewrites entry {@code index} of the first L2 table. */
        void l2Entry(String name, int index, java.util.function.LongUnaryOperator change) {
            long l2 = firstL2Table(name);
            writeLong(name, l2 + 8L * index, change.applyAsLong(readLong(name, l2 + 8L * index)));
        }

        /** Overwrites the start of the compressed data of L2 entry {@code index} (which must be compressed). */
        void garbleCompressedCluster(String name, int index) {
            long e = readLong(name, firstL2Table(name) + 8L * index);
            assertThat(e & (1L << 62)).as("compressed entry " + index + " of " + name).isNotZero();
            int x = 62 - (clusterBits(name) - 8);
            byte[] junk = new byte[16];
            java.util.Arrays.fill(junk, (byte) 0xff);
            patch(name, e & ((1L << x) - 1), junk);
        }

        /** Moves the compressed data of L2 entry {@code index} (which must be compressed) to {@code host}. */
        void compressedClusterAt(String name, int index, long host) {
            int x = 62 - (clusterBits(name) - 8);
            l2Entry(name, index, e -> {
                assertThat(e & (1L << 62)).as("compressed entry " + index + " of " + name).isNotZero();
                return (e & ~((1L << x) - 1)) | host;
            });
        }

        private int clusterBits(String name) {
            return (int) (readLong(name, 16) & 0xffff_ffffL); // cluster_bits: bytes 20-23
        }

        private long firstL2Table(String name) {
            return ImageBytes.firstL2Table(dir.resolve(name));
        }

        private long readLong(String name, long at) {
            return ImageBytes.readLong(dir.resolve(name), at);
        }

        private void writeLong(String name, long at, long value) {
            ImageBytes.writeLong(dir.resolve(name), at, value);
        }

        /** Writes {@code bytes} at {@code at} (each int one byte). */
        void patch(String name, long at, int... bytes) {
            byte[] b = new byte[bytes.length];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) bytes[i];
            }
            patch(name, at, b);
        }

        void patch(String name, long at, byte[] bytes) {
            ImageBytes.write(dir.resolve(name), at, bytes);
        }

        void file(String name, String content) {
            unchecked(() -> Files.writeString(dir.resolve(name), content));
        }

        void dir(String name) {
            unchecked(() -> Files.createDirectories(dir.resolve(name)));
        }

        void symlink(String name, String target) {
            unchecked(() -> Files.createSymbolicLink(dir.resolve(name), Path.of(target)));
        }

        void delete(String name) {
            unchecked(() -> Files.delete(dir.resolve(name)));
        }

        /** A raw file of {@code length} random bytes. */
        void raw(String name, int length) {
            byte[] b = new byte[length];
            random.nextBytes(b);
            unchecked(() -> Files.write(dir.resolve(name), b));
        }

        private interface FileAction {
            void run() throws IOException;
        }

        private static void unchecked(FileAction a) {
            try {
                a.run();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
