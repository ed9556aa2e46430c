package dev.q2.guestio;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * q2 io and qemu-io side by side on copies of images built by qemu-img and qemu-io: read -v's hex dump, -C's machine
 * line, read -s/-l, write -f, map, alloc, info, open and close, and commands with no file open. Same stdout (timings
 * masked), stderr and exit code.
 */
@Tag("qemu")
class IoQueriesDifferentialTest {
    @TempDir
    Path dir;

    private int n;

    /** Builds the same image in two folders with {@code setup} (qemu-img and qemu-io argument lists). */
    private Path[] image(List<List<String>> setup) {
        Path q = dir.resolve("q" + n);
        Path ours = dir.resolve("o" + n++);
        for (Path d : List.of(q, ours)) {
            try {
                Files.createDirectory(d);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            for (List<String> step : setup) {
                String[] rest = step.subList(1, step.size()).toArray(String[]::new);
                Qemu.Result r = step.get(0).equals("img") ? Qemu.img(d, rest) : Qemu.io(d, rest);
                assertThat(r.exitCode()).as(String.join(" ", step) + ": " + r.err()).isZero();
            }
        }
        return new Path[] {q, ours};
    }

    /** The same commands on t.qcow2 of both folders. */
    private void same(Path[] dirs, String... args) {
        String[] withFile = java.util.Arrays.copyOf(args, args.length + 1);
        withFile[args.length] = "t.qcow2";
        noFile(dirs, withFile);
    }

    /** The same qemu-io arguments (no file operand added) in both folders. */
    private void noFile(Path[] dirs, String... args) {
        Qemu.Result expected = Qemu.io(dirs[0], args);
        String[] ioArgs = new String[args.length + 1];
        ioArgs[0] = "io";
        System.arraycopy(args, 0, ioArgs, 1, args.length);
        Cli.Result actual = Cli.runIn(dirs[1], ioArgs);
        String what = String.join(" ", args);
        assertThat(masked(actual.out())).as(what).isEqualTo(masked(expected.out()));
        assertThat(actual.err().replace("q2: ", "")).as(what).isEqualTo(expected.err().replace("qemu-io: ", ""));
        assertThat(actual.exitCode()).as(what).isEqualTo(expected.exitCode());
    }

    /** Statistics vary from run to run: the iotests' filter masks them, and so does this. */
    private static String masked(String s) {
        return s.replaceAll("ops; .*", "ops; X").replaceAll("(?m)^(\\d+,\\d+),.*$", "$1,X");
    }

    private static List<String> img(String... a) {
        return List.of(concat("img", a));
    }

    private static List<String> io(String... a) {
        return List.of(concat("io", a));
    }

    private static String[] concat(String first, String... rest) {
        List<String> l = new ArrayList<>();
        l.add(first);
        l.addAll(List.of(rest));
        return l.toArray(String[]::new);
    }

    /** 1 MiB, 64 KiB clusters: data, compressed, zero clusters, a discarded cluster, unallocated ones. */
    private Path[] mixed() {
        return image(List.of(
                img("create", "-q", "-f", "qcow2", "t.qcow2", "1M"),
                io("-c", "write -P 0x41 0 4k", "-c", "write -c -P 0x61 64k 64k", "-c", "write -z 128k 64k",
                        "-c", "write -P 0x7a 256k 128k", "-c", "discard 320k 64k", "-c", "write -P 0 1020k 4k",
                        "t.qcow2")));
    }

    @Test
    void readDumpsAndMachineReports() throws Exception {
        Qemu.assumeAvailable();
        Path[] d = mixed();
        same(d, "-c", "read -v 4090 40");
        same(d, "-c", "read -v 0 16", "-c", "read -v 0 17", "-c", "read -v 0 1");
        same(d, "-c", "read -v 64k 100");                       // compressed: 'a' bytes
        same(d, "-c", "read -vq 0 20");                         // -q: no dump either
        same(d, "-c", "read -v -P 0x42 0 20");                  // failed verification, then the dump
        same(d, "-c", "read -vC 0 20", "-c", "write -C 8k 512", "-c", "discard -C 512k 64k");
        same(d, "-c", "readv -v 0 16 16", "-c", "aio_read -v 256k 48", "-c", "aio_flush");
        same(d, "-c", "readv -C 0 512", "-c", "writev -C 0 512", "-c", "aio_write -C 0 512", "-c", "aio_flush");
        // bytes that are not letters or digits: '.'
        Path[] bytes = image(List.of(img("create", "-q", "-f", "qcow2", "t.qcow2", "1M"),
                io("-c", "write -P 0x20 0 1", "-c", "write -P 0x2e 1 1", "-c", "write -P 0x7f 2 1",
                        "-c", "write -P 0xe9 3 1", "-c", "write -P 0x39 4 1", "-c", "write -P 0x5f 5 1", "t.qcow2")));
        same(bytes, "-c", "read -v 0 8");
        same(bytes, "-c", "read -v 1048560 16");                // offsets past 0xfffff keep 8 digits
    }

    @Test
    void patternRangesAndFua() throws Exception {
        Qemu.assumeAvailable();
        Path[] d = mixed();
        same(d, "-c", "read -P 0x41 -s 4 -l 8 0 512");
        same(d, "-c", "read -P 0x42 -s 4 -l 8 0 512");
        same(d, "-c", "read -P 0 -s 4096 -l 1024 0 8k");
        same(d, "-c", "read -P 0 -s 4k 0 8k");                  // -l defaults to the rest
        same(d, "-c", "read -P 0 -s 600 0 512");
        same(d, "-c", "read -P 0 -s 4 -l 600 0 512");
        same(d, "-c", "read -l 4 0 512");                       // -l without -P: usage
        same(d, "-c", "read -s 4 0 512");
        same(d, "-c", "read -P 0 -s x 0 512");
        same(d, "-c", "write -f -P 3 0 512", "-c", "read -P 3 0 512");
        same(d, "-c", "write -f -c 0 64k");
        same(d, "-c", "writev -f -P 4 0 512 512", "-c", "read -P 4 0 1k");
    }

    @Test
    void mapAllocLengthInfo() throws Exception {
        Qemu.assumeAvailable();
        Path[] d = mixed();
        same(d, "-c", "map", "-c", "length", "-c", "info");
        same(d, "-r", "-c", "map");
        same(d, "-c", "alloc 0", "-c", "alloc 0 1M", "-c", "alloc 4k 128k", "-c", "a 1", "-c", "alloc 0 1",
                "-c", "alloc 1M 512", "-c", "alloc 512k 1M", "-c", "alloc 0 3G", "-c", "alloc 320k 64k");
        same(d, "-c", "alloc x", "-c", "alloc", "-c", "alloc 0 1k 3", "-c", "map x", "-c", "info x");
        // writes in the same run show in map and alloc at once
        same(d, "-c", "write -P 1 640k 64k", "-c", "write -z 704k 64k", "-c", "map", "-c", "alloc 600k 200k");
        // a chain: what the backing file holds is not allocated in the top image
        Path[] chain = image(List.of(
                img("create", "-q", "-f", "qcow2", "base.qcow2", "2M"),
                io("-c", "write -P 1 0 1M", "base.qcow2"),
                img("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "top.qcow2", "3M"),
                io("-c", "write -P 2 512k 64k", "-c", "write -z 1536k 64k", "-c", "write -z -u 0 64k",
                        "top.qcow2")));
        for (Path p : chain) {
            Files.move(p.resolve("top.qcow2"), p.resolve("t.qcow2"));
        }
        same(chain, "-c", "map", "-c", "alloc 0 3M", "-c", "alloc 512k", "-c", "info");
        // extended L2 (subclusters), another cluster size, a v2 image, a zero-length image
        Path[] ext = image(List.of(
                img("create", "-q", "-f", "qcow2", "-o", "extended_l2=on,cluster_size=128k", "t.qcow2", "5M"),
                io("-c", "write -P 5 4k 4k", "-c", "write -z 200k 8k", "-c", "write -P 6 4M 1M", "t.qcow2")));
        same(ext, "-c", "map", "-c", "alloc 0 256k", "-c", "info");
        Path[] v2 = image(List.of(
                img("create", "-q", "-f", "qcow2", "-o", "compat=0.10,cluster_size=4k", "t.qcow2", "100M"),
                io("-c", "write -P 5 4k 4k", "-c", "write -z 16k 8k", "-c", "write -P 6 99M 1M", "t.qcow2")));
        same(v2, "-c", "map", "-c", "info", "-c", "length");
        Path[] empty = image(List.of(img("create", "-q", "-f", "qcow2", "t.qcow2", "0")));
        same(empty, "-c", "map", "-c", "alloc 0", "-c", "info", "-c", "length");
        Path[] big = image(List.of(img("create", "-q", "-f", "qcow2", "-o", "lazy_refcounts=on,refcount_bits=1",
                "t.qcow2", "1T"), io("-c", "write 1023G 64k", "t.qcow2")));
        same(big, "-r", "-c", "map", "-c", "info");
    }

    @Test
    void openCloseAndNoFile() throws Exception {
        Qemu.assumeAvailable();
        Path[] d = mixed();
        same(d, "-c", "close", "-c", "read 0 512");
        same(d, "-c", "close", "-c", "open t.qcow2", "-c", "read -P 0x41 0 4k", "-c", "map");
        same(d, "-c", "open t.qcow2");                          // file open already
        same(d, "-c", "open -r", "-c", "length");
        same(d, "-c", "close", "-c", "open -r t.qcow2", "-c", "write 0 512", "-c", "read -P 0x41 0 512");
        same(d, "-c", "close", "-c", "open -r -U t.qcow2", "-c", "info");
        same(d, "-c", "close", "-c", "open -U t.qcow2");
        same(d, "-c", "close", "-c", "open -o driver=qcow2 t.qcow2", "-c", "length");
        same(d, "-c", "close", "-c", "open -n -t none t.qcow2", "-c", "length");
        same(d, "-c", "close", "-c", "open -t bogus t.qcow2", "-c", "length");
        same(d, "-c", "close", "-c", "open -k t.qcow2");
        same(d, "-c", "close", "-c", "open -x t.qcow2");
        same(d, "-c", "close", "-c", "open t.qcow2 x");
        same(d, "-c", "close", "-c", "open nosuch.qcow2", "-c", "length");
        same(d, "-c", "close", "-c", "o t.qcow2", "-c", "c", "-c", "c");
        // no file operand at all
        noFile(d, "-c", "length", "-c", "map", "-c", "info", "-c", "alloc 0", "-c", "flush", "-c", "write 0 512");
        noFile(d, "-c", "open");
        noFile(d, "-c", "open -r");
        noFile(d, "-c", "quit");
        noFile(d, "-c", "open t.qcow2", "-c", "write -P 9 0 512", "-c", "close", "-c", "open -r t.qcow2",
                "-c", "read -P 9 0 512");
    }

    /** Raw files (iotest 287's last step, 107's open -o driver=raw): qemu-io's raw format over the file protocol. */
    @Test
    void rawFiles() throws Exception {
        Qemu.assumeAvailable();
        Path[] d = image(List.of(img("create", "-q", "-f", "raw", "t.qcow2", "1M")));
        same(d, "-f", "raw", "-c", "write -P 1 0 64k", "-c", "write -c 64k 64k", "-c", "write -z 128k 4k",
                "-c", "write -zu 132k 4k", "-c", "discard 0 4k", "-c", "read -P 0 0 4k", "-c", "read -P 1 4k 60k",
                "-c", "read -P 0 128k 8k", "-c", "map", "-c", "alloc 0 1M", "-c", "info", "-c", "length");
        same(d, "-f", "raw", "-c", "write -P 2 1M 512");
        same(d, "-f", "raw", "-r", "-c", "write 0 512", "-c", "read -v 4090 10");
        same(d, "-c", "read -P 1 4k 4k");                      // probed: qemu's warning on stderr
        same(d, "-c", "close", "-c", "open -o driver=raw t.qcow2", "-c", "read -P 1 4k 4k", "-c", "length");
        for (Path p : d) {
            Files.write(p.resolve("odd.raw"), new byte[] {'a', 'b', 'c'});
        }
        noFile(d, "-f", "raw", "-c", "length", "-c", "read -v 0 32", "-c", "write -P 0x41 0 512", "-c", "length",
                "-c", "read -P 0x41 0 512", "odd.raw");
        for (Path p : d) {
            assertThat(Files.size(p.resolve("odd.raw"))).isEqualTo(512);
        }
    }

    /** iotest 103: the qcow2 driver's cache options on open, refused and accepted as QEMU's read_cache_sizes does. */
    @Test
    void cacheOptionsOnOpen() throws Exception {
        Qemu.assumeAvailable();
        Path[] d = image(List.of(img("create", "-q", "-f", "qcow2", "t.qcow2", "64k"),
                io("-c", "write -P 42 0 64k", "t.qcow2")));
        for (String o : List.of("cache-size=1.25M,l2-cache-size=1M,refcount-cache-size=0.25M",
                "cache-size=1M,l2-cache-size=2M", "cache-size=1M,refcount-cache-size=2M",
                "cache-size=0,l2-cache-size=0,refcount-cache-size=0", "l2-cache-entry-size=256",
                "l2-cache-entry-size=4242", "l2-cache-entry-size=128k", "cache-size=0", "l2-cache-size=0",
                "refcount-cache-size=0", "cache-size=2M", "cache-size=2M,l2-cache-size=1M",
                "cache-size=2M,refcount-cache-size=1M", "l2-cache-size=1M,refcount-cache-size=0.25M",
                "l2-cache-entry-size=512", "l2-cache-entry-size=16k", "l2-cache-entry-size=64k", "cache-size=x",
                "driver=qcow2,l2-cache-size=0", "foo=bar")) {
            noFile(d, "-c", "open -o " + o + " t.qcow2", "-c", "read -P 42 0 64k");
        }
        noFile(d, "-c", "open -o cache-size=0 t.qcow2", "-c", "write 0 64k", "-c", "read -P 0xcd 0 64k");
    }
}
