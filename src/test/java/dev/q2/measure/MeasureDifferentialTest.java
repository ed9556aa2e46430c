package dev.q2.measure;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.RandomAccessFile;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * q2 measure and qemu-img measure side by side: the same exit code, stdout and stderr ("qemu-img: " read as
 * "q2: "), once q2's own L2 cache lines (human) and "l2-cache" member (JSON) are taken out. Sizes alone over a
 * matrix of create options, images qemu-img and qemu-io made (sparse raw files, backing chains, compressed clusters,
 * bitmaps, snapshots, metadata preallocation, external data files), and the refusals.
 */
@Tag("qemu")
class MeasureDifferentialTest extends QemuTest {
    private static final String[] CLUSTERS = {"512", "1k", "4k", "16k", "32k", "64k", "128k", "256k", "512k", "1M",
        "2M"};
    private static final String[] SIZES = {"0", "1", "511", "513", "1000000", "64M", "1G", "100G", "3T", "1P",
        "9223372036854775807"};

    /** Compares one command; returns qemu-img's result. */
    private Qemu.Result same(String... args) {
        List<String> full = new ArrayList<>(List.of("measure"));
        full.addAll(List.of(args));
        String[] a = full.toArray(String[]::new);
        Qemu.Result q = Qemu.img(dir, a);
        Cli.Result o = Cli.runIn(dir, a);
        String what = String.join(" ", a);
        assertThat(o.exitCode()).as(what + ": " + o.err() + " / " + q.err()).isEqualTo(q.exitCode());
        assertThat(o.err()).as(what).isEqualTo(q.err().replace("qemu-img: ", "q2: "));
        assertThat(withoutL2Cache(o.out())).as(what).isEqualTo(q.out());
        if (o.exitCode() == 0 && !List.of(a).contains("raw") && List.of(a).contains("qcow2")) {
            assertThat(o.out()).as(what).containsAnyOf("L2 cache:\n", "\"l2-cache\": {");
        }
        return q;
    }

    /** Removes q2's L2 cache block: the human lines after qemu-img's, or the last member of the JSON object. */
    static String withoutL2Cache(String out) {
        return out.replaceAll("L2 cache:\\n(    .*\\n)+", "")
                .replaceAll(",\\n    \"l2-cache\": \\{[^}]*\\n    }", "");
    }

    @Test
    void sizesOverCreateOptions() {
        List<String> opts = List.of("", "compat=0.10", "extended_l2=on", "refcount_bits=1", "refcount_bits=2",
                "refcount_bits=8", "refcount_bits=32", "refcount_bits=64", "preallocation=metadata",
                "preallocation=falloc", "preallocation=full", "lazy_refcounts=on", "compression_type=zstd",
                "data_file=d.raw,data_file_raw=on", "backing_file=b.qcow2", "encryption=on", "nocow=on");
        int i = 0;
        for (String size : SIZES) {
            for (String cluster : CLUSTERS) {
                String o = opts.get(i++ % opts.size());
                String list = "cluster_size=" + cluster + (o.isEmpty() ? "" : "," + o);
                same("-O", "qcow2", "-o", list, "--size", size);
                if (i % 3 == 0) {
                    same("--output=json", "-O", "qcow2", "-o", list, "--size", size);
                }
            }
            same("--size", size);
            same("-O", "raw", "--output=json", "--size", size);
        }
    }

    @Test
    void imagesMadeByQemu() throws Exception {
        img("create", "-q", "-f", "qcow2", "-o", "cluster_size=4k", "base.qcow2", "8M");
        io("base.qcow2", "write -P 1 0 1M", "write -P 2 5M 100k");
        img("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "-o",
                "cluster_size=64k,extended_l2=on", "top.qcow2", "10M");
        io("top.qcow2", "write -P 3 512k 8k", "write -z 5M 64k", "write -P 4 9M 4k");
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("sparse.raw").toFile(), "rw")) {
            f.setLength(7_000_000);
            f.seek(3_000_000);
            f.write('x');
            f.seek(6_999_999);
            f.write('y');
        }
        img("create", "-q", "-f", "qcow2", "-o", "compression_type=zstd", "comp.qcow2", "4M");
        io("comp.qcow2", "write -c -P 5 0 64k", "write -c -P 6 1M 128k");
        img("bitmap", "--add", "-g", "4k", "comp.qcow2", "bitmap-one");
        img("bitmap", "--add", "comp.qcow2", "b2-\u00fcn\u00ef");
        img("create", "-q", "-f", "qcow2", "-o", "compat=0.10", "v2.qcow2", "3M");
        io("v2.qcow2", "write 0 1k");
        img("create", "-q", "-f", "qcow2", "-o", "preallocation=metadata,cluster_size=512", "pm.qcow2", "1M");
        io("pm.qcow2", "write -P 7 10k 1k");
        img("create", "-q", "-f", "qcow2", "-o", "data_file=df.raw,data_file_raw=on", "ext.qcow2", "2M");
        io("ext.qcow2", "write -P 8 1M 4k");
        img("create", "-q", "-f", "raw", "rawbase.raw", "2M");
        Qemu.io(dir, "-f", "raw", "-c", "write 0 4k", "rawbase.raw");
        img("create", "-q", "-f", "qcow2", "-b", "rawbase.raw", "-F", "raw", "ovr.qcow2", "3M");
        img("create", "-q", "-f", "qcow2", "snap.qcow2", "4M");
        io("snap.qcow2", "write -P 1 0 1M");
        img("snapshot", "-c", "sn1", "snap.qcow2");
        io("snap.qcow2", "write -P 2 2M 1M");
        img("snapshot", "-c", "sn2", "snap.qcow2");
        io("snap.qcow2", "write -P 3 3M 512k");

        List<List<String>> targets = List.of(List.of(), List.of("-O", "qcow2"),
                List.of("-O", "qcow2", "-o", "cluster_size=512"),
                List.of("-O", "qcow2", "-o", "cluster_size=2M,refcount_bits=1"),
                List.of("-O", "qcow2", "-o", "extended_l2=on,cluster_size=16k"),
                List.of("-O", "qcow2", "-o", "compat=0.10"),
                List.of("-O", "qcow2", "-o", "refcount_bits=64,preallocation=falloc"),
                List.of("-O", "qcow2", "-o", "backing_file=x"),
                List.of("-O", "qcow2", "--output=json"), List.of("-O", "raw", "--output=json"),
                List.of("-f", "raw", "-O", "qcow2", "-o", "cluster_size=1k"));
        for (String img : List.of("base.qcow2", "top.qcow2", "sparse.raw", "comp.qcow2", "v2.qcow2", "pm.qcow2",
                "ext.qcow2", "ovr.qcow2", "rawbase.raw", "snap.qcow2")) {
            for (List<String> t : targets) {
                List<String> args = new ArrayList<>(t);
                args.add(img);
                same(args.toArray(String[]::new));
            }
        }
        for (String l : List.of("sn1", "1", "2", "snapshot.name=sn2", "snapshot.id=2,snapshot.name=sn1",
                "snapshot.id=1,snapshot.name=sn1", "nope", "snapshot.foo=1")) {
            same("-O", "qcow2", "-l", l, "snap.qcow2");
            same("-O", "qcow2", "--output=json", "-l", l, "snap.qcow2");
        }
        same("-l", "sn1", "sparse.raw");
        same("-O", "qcow2", "-o", "size=1E", "base.qcow2"); // the size option is still checked
        same("-O", "qcow2", "-o", "cluster_size=1000", "base.qcow2");
        same("-O", "foo", "nonexistent.qcow2"); // the image is opened first
        same("nonexistent.qcow2");
        same("-f", "foo", "base.qcow2");
        same("-f", "qcow2", "sparse.raw");
        same("-U", "-O", "qcow2", "top.qcow2");
    }

    @Test
    void refusalsInQemuImgsWords() {
        for (String[] a : new String[][] {
            {}, {"a", "b"}, {"--size", "1G", "x.qcow2"}, {"--size", "1G", "-f", "qcow2"}, {"--size", "1G", "-l", "s"},
            {"--output=xml", "--size", "1G"}, {"--size", "1G", "--output=yaml", "--size", "x"},
            {"--size", "-1"}, {"--size", "1x"}, {"--size", "9E"}, {"--size", "8E"}, {"--size", "0x10k"},
            {"--size", "1E", "-O", "qcow2"}, {"--size", "1G", "-o", "help"}, {"--size", "1G", "-o", "foo=1"},
            {"--size", "1G", "-o", "cluster_size=64k"}, {"--size", "1G", "-O", "raw", "-o", "preallocation=full"},
            {"--size", "1G", "-O", "qcow2", "-o", ",,"}, {"--size", "1G", "-O", "qcow2", "-o", ""},
            {"--size", "1G", "-O", "qcow2", "-o", "a,,,"}, {"-O", "qcow2", "-o", "size=5G"},
            {"--size", "1G", "-O", "qcow2", "-o", "cluster_size=1000"},
            {"--size", "1G", "-O", "qcow2", "-o", "cluster_size=abc"},
            {"--size", "1G", "-O", "qcow2", "-o", "cluster_size="},
            {"--size", "1G", "-O", "qcow2", "-o", "compat=0.9"}, {"--size", "1G", "-O", "qcow2", "-o", "compat=v2"},
            {"--size", "1G", "-O", "qcow2", "-o", "refcount_bits=3"},
            {"--size", "1G", "-O", "qcow2", "-o", "refcount_bits=128"},
            {"--size", "1G", "-O", "qcow2", "-o", "refcount_bits=x"},
            {"--size", "1G", "-O", "qcow2", "-o", "refcount_bits=8,compat=0.10"},
            {"--size", "1G", "-O", "qcow2", "-o", "preallocation=bad"},
            {"--size", "1G", "-O", "qcow2", "-o", "extended_l2=on,cluster_size=4k"},
            {"--size", "1G", "-O", "qcow2", "-o", "extended_l2=maybe"},
            {"--size", "1G", "-O", "qcow2", "-o", "compat=0.10,extended_l2=on"},
            {"--size", "1G", "-O", "qcow2", "-o", "encrypt.format=luks"},
            {"--size", "1G", "-O", "qcow2", "-o", "encrypt.format=luks,encrypt.key-secret=sec0"},
            {"--size", "1G", "-O", "qcow2", "-o", "compression_type=lz4", "-o", "extent_size_hint=1M"},
            {"--size", "1G", "-O", "vmdk"}, {"--size", "1G", "-O", "file"}, {"--size", "1G", "-O", "bochs"},
            {"--size", "1G", "-O", "foo"}, {"--size", "1G", "-O", "luks"},
            {"--size", "1G", "-O", "luks", "-o", "key-secret=s"}}) {
            same(a);
        }
    }

}
