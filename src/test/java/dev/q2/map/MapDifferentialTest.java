package dev.q2.map;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * q2 map against qemu-img map on images generated here with qemu-img and qemu-io: stdout byte for byte, exit code
 * and error message, for JSON and human output, over the whole image and over windows that start and end inside
 * clusters and subclusters. Skipped when qemu-img is not installed.
 */
@Tag("qemu")
class MapDifferentialTest extends QemuTest {
    /** Runs qemu-io commands (each one -c) on a file, which must not fail; "raw:" before the name opens it as raw. */
    @Override
    protected Qemu.Result io(String file, String... commands) {
        boolean raw = file.startsWith("raw:");
        Qemu.Result r = Qemu.ok(Qemu.io(dir, Qemu.ioArgs(raw ? "raw" : null, raw ? file.substring(4) : file,
                commands)));
        assertThat(r.out()).as("qemu-io %s", file).doesNotContain("failed").doesNotContain("error");
        return r;
    }

    /** Compares q2 map with qemu-img map, both formats, for the given extra arguments. */
    private void same(String file, String... extra) {
        for (String output : new String[] {"json", "human"}) {
            List<String> args = new ArrayList<>(List.of("map", "--output=" + output));
            args.addAll(List.of(extra));
            args.add(file);
            String[] a = args.toArray(String[]::new);
            Qemu.Result q = Qemu.img(dir, a);
            Cli.Result r = Cli.runIn(dir, a);
            String what = String.join(" ", a);
            assertThat(r.out()).as("stdout of %s", what).isEqualTo(q.out());
            assertThat(r.exitCode()).as("exit code of %s (stderr %s)", what, r.err()).isEqualTo(q.exitCode());
            // q2 says in one line what qemu-img says in two (the size error's suffix list).
            assertThat(r.err().replace("q2: ", "")).as("stderr of %s", what)
                    .isEqualTo(q.err().replace("qemu-img: ", "").replace("for\nkilobytes", "for kilobytes"));
        }
    }

    /** The whole image and windows starting and ending inside clusters, subclusters and sectors. */
    private void sameWithWindows(String file, long clusterSize, long size) {
        same(file);
        long sub = clusterSize / 32;
        same(file, "--start-offset=" + (clusterSize + sub / 2), "--max-length=" + (3 * clusterSize + 7 * 512));
        same(file, "--start-offset=" + (sub * 3 + 100), "--max-length=" + (size / 3 + 123));
        same(file, "--start-offset=" + (size - clusterSize - 512));
        same(file, "--start-offset=1k", "--max-length=" + (clusterSize / 2 + 1));
        same(file, "--start-offset=" + (size + clusterSize));
        same(file, "--max-length=0");
    }

    @Test
    void standardClustersZerosDiscardsAndPartialWrites() {
        img("create", "-q", "-f", "qcow2", "img.qcow2", "4M");
        io("img.qcow2", "write -P 0x11 0 128k", "write -P 0x12 200k 3k", "write -z 256k 64k", "write -P 0x13 320k 64k",
                "write -z 320k 64k", "discard 64k 64k", "write -P 0x14 1M 1M", "discard 1152k 64k",
                "write -z -u 1280k 128k", "write -P 0x15 4032k 64k");
        sameWithWindows("img.qcow2", 65536, 4 << 20);
    }

    @Test
    void smallClustersAndOddSize() {
        img("create", "-q", "-f", "qcow2", "-o", "cluster_size=512", "a.qcow2", "1000000");
        io("a.qcow2", "write -P 1 0 1k", "write -P 2 31k 2k", "write -z 40k 1k", "write -P 3 976k 1k");
        sameWithWindows("a.qcow2", 512, 1000448);
        img("create", "-q", "-f", "qcow2", "b.qcow2", "1000000");
        io("b.qcow2", "write -P 1 960k 17408", "write -P 2 0 1");
        sameWithWindows("b.qcow2", 65536, 1000448);
    }

    @Test
    void extendedL2Subclusters() {
        for (String cs : new String[] {"64k", "128k", "2M"}) {
            long c = switch (cs) {
                case "64k" -> 65536;
                case "128k" -> 131072;
                default -> 2097152;
            };
            long sub = c / 32;
            String f = "x" + cs + ".qcow2";
            long size = 64 * c;
            img("create", "-q", "-f", "qcow2", "-o", "extended_l2=on,cluster_size=" + cs, f, Long.toString(size));
            io(f, "write -P 1 0 " + sub, "write -P 2 " + (3 * sub) + " " + (sub / 2), "write -z " + (5 * sub) + " "
                            + (2 * sub), "write -P 3 " + c + " " + c, "write -z " + (c + 4 * sub) + " " + sub,
                    "discard " + (c + 10 * sub) + " " + (3 * sub), "write -z " + (4 * c) + " " + (2 * c),
                    "write -P 4 " + (5 * c + 31 * sub) + " " + (2 * sub), "write -z -u " + (8 * c) + " " + c,
                    "write -P 5 " + (size - sub) + " " + sub);
            sameWithWindows(f, c, size);
            same(f, "--start-offset=" + (3 * sub + 7), "--max-length=" + (sub + 1));
        }
    }

    @Test
    void compressedZlibAndZstd() throws IOException {
        Path src = dir.resolve("src.raw");
        byte[] buf = new byte[1 << 20];
        Random rnd = new Random(42);
        for (int i = 0; i < buf.length; i += 65536) {
            int kind = (i / 65536) % 4;
            for (int j = 0; j < 65536; j++) {
                buf[i + j] = switch (kind) {
                    case 0 -> (byte) (j % 7);
                    case 1 -> (byte) rnd.nextInt();
                    case 2 -> 0;
                    default -> (byte) ('a' + j % 26);
                };
            }
        }
        Files.write(src, buf);
        for (String type : new String[] {"zlib", "zstd"}) {
            String f = "c-" + type + ".qcow2";
            img("convert", "-c", "-O", "qcow2", "-o", "compression_type=" + type, "src.raw", f);
            sameWithWindows(f, 65536, 1 << 20);
            io(f, "write -P 9 128k 64k", "write -z 192k 64k");
            sameWithWindows(f, 65536, 1 << 20);
            // Human output up to the first compressed cluster, then qemu-img's refusal.
            same(f, "--start-offset=128k");
        }
    }

    @Test
    void chainOfThreeQcow2() {
        img("create", "-q", "-f", "qcow2", "base.qcow2", "4M");
        io("base.qcow2", "write -P 1 0 256k", "write -P 2 3M 64k", "write -z 512k 64k");
        img("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "mid.qcow2");
        io("mid.qcow2", "write -P 3 128k 64k", "write -P 4 1M 64k", "discard 3M 64k", "write -z 64k 32k");
        img("create", "-q", "-f", "qcow2", "-o", "cluster_size=32k", "-b", "mid.qcow2", "-F", "qcow2", "top.qcow2");
        io("top.qcow2", "write -P 5 64k 32k", "write -z 1M 64k", "write -P 6 2M 4k", "write -z -u 0 32k");
        sameWithWindows("top.qcow2", 32768, 4 << 20);
        sameWithWindows("mid.qcow2", 65536, 4 << 20);
    }

    @Test
    void chainWithRawBaseShortBackingsAndSubfolder() throws IOException {
        Files.createDirectories(dir.resolve("sub"));
        img("create", "-q", "-f", "raw", "sub/base.raw", "1M");
        io("raw:sub/base.raw", "write -P 1 64k 64k", "write -P 2 700k 4k");
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("sub/base.raw").toFile(), "rw")) {
            f.setLength(1000000); // not a multiple of 512: qemu reads the last partial sector as zeros
        }
        img("create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "sub/mid.qcow2", "2M");
        io("sub/mid.qcow2", "write -P 3 0 4k", "write -z 128k 64k", "write -P 4 1536k 64k");
        img("create", "-q", "-f", "qcow2", "-o", "extended_l2=on", "-b", "mid.qcow2", "-F", "qcow2",
                "sub/top.qcow2", "3M");
        io("sub/top.qcow2", "write -P 5 66k 2k", "write -z 2560k 4k", "write -P 6 2900k 1k");
        sameWithWindows("sub/top.qcow2", 65536, 3 << 20);
        sameWithWindows("sub/mid.qcow2", 65536, 2 << 20);
        same("sub/base.raw");
        same("sub/base.raw", "-f", "raw", "--start-offset=999k");
    }

    @Test
    void metadataPreallocationAndDataFiles() {
        img("create", "-q", "-f", "qcow2", "-o", "preallocation=metadata,cluster_size=4k", "p.qcow2", "8M");
        io("p.qcow2", "write -P 1 64k 64k", "write -z 1M 4k", "discard 2M 8k");
        sameWithWindows("p.qcow2", 4096, 8 << 20);
        img("create", "-q", "-f", "qcow2", "-o", "preallocation=falloc", "f.qcow2", "2M");
        sameWithWindows("f.qcow2", 65536, 2 << 20);
        img("create", "-q", "-f", "qcow2", "-o", "data_file=d.raw", "d.qcow2", "2M");
        io("d.qcow2", "write -P 1 0 64k", "write -z 512k 64k", "write -P 2 1M 128k");
        sameWithWindows("d.qcow2", 65536, 2 << 20);
        img("create", "-q", "-f", "qcow2", "-o", "data_file=dr.raw,data_file_raw=on", "dr.qcow2", "2M");
        io("dr.qcow2", "write -P 1 0 64k", "write -z 512k 64k", "write -P 2 1M 128k");
        sameWithWindows("dr.qcow2", 65536, 2 << 20);
    }

    @Test
    void beyondTwoToThe53() {
        img("create", "-q", "-f", "qcow2", "-o", "cluster_size=2M", "big.qcow2", "9P");
        long p53 = 1L << 53;
        io("big.qcow2", "write -P 1 " + p53 + " 64k", "write -z " + (p53 + (4L << 20)) + " 2M", "write -P 2 0 4k",
                "write -P 3 " + (9L * (1L << 50) - 4096) + " 4k");
        same("big.qcow2", "--start-offset=" + (p53 - (2L << 20) + 512), "--max-length=" + (10L << 20));
        same("big.qcow2", "--start-offset=" + (9L * (1L << 50) - (3L << 20)));
        same("big.qcow2", "--start-offset=0x1fffffffe00000", "--max-length=1G");
    }

    /** qemu-img asks 1 GiB at a time: extents that straddle those request boundaries must still merge. */
    @Test
    void extentsAcrossOneGibRequests() {
        img("create", "-q", "-f", "qcow2", "-o", "cluster_size=2M", "g.qcow2", "3G");
        io("g.qcow2", "write -P 1 1020M 8M", "write -z 2044M 8M", "write -P 2 3068M 4M");
        img("create", "-q", "-f", "qcow2", "-b", "g.qcow2", "-F", "qcow2", "h.qcow2");
        io("h.qcow2", "write -P 3 1023M 2M");
        for (String f : new String[] {"g.qcow2", "h.qcow2"}) {
            same(f);
            same(f, "--start-offset=512");
            same(f, "--start-offset=1021M", "--max-length=1G");
        }
    }

    @Test
    void randomFragmentedImage() {
        long seed = Long.getLong("q2.seed", System.nanoTime());
        Random rnd = new Random(seed);
        String label = "seed " + seed + " (rerun with -Dq2.seed=" + seed + ")";
        boolean ext = rnd.nextBoolean();
        long c = ext ? 65536 : 4096;
        long size = 256 * c;
        img("create", "-q", "-f", "qcow2", "-o", "cluster_size=" + c + (ext ? ",extended_l2=on" : ""), "r.qcow2",
                Long.toString(size));
        List<String> cmds = new ArrayList<>();
        String[] ops = {"write -P 7", "write -z", "discard", "write -z -u"};
        for (int i = 0; i < 40; i++) {
            long off = rnd.nextInt((int) (size / 512)) * 512L;
            long len = Math.min(size - off, (1 + rnd.nextInt(8)) * (rnd.nextBoolean() ? 512L : c));
            cmds.add(ops[rnd.nextInt(ops.length)] + " " + off + " " + len);
        }
        io("r.qcow2", cmds.toArray(String[]::new));
        try {
            sameWithWindows("r.qcow2", c, size);
        } catch (AssertionError e) {
            throw new AssertionError(label + ": " + e.getMessage(), e);
        }
    }

    @Test
    void openErrorsAndBadArguments() {
        img("create", "-q", "-f", "qcow2", "e.qcow2", "1M");
        same("missing.qcow2");
        same("e.qcow2", "--start-offset=-1");
        same("e.qcow2", "--max-length=1x");
        same("e.qcow2", "--start-offset=8E");
        same("e.qcow2", "--start-offset=16", "--max-length=9223372036854775807");
        same("e.qcow2", "--start-offset=1.5k", "--max-length=0x1000");
        // Options given again: the last one counts (every size is still checked).
        same("e.qcow2", "--start-offset=1k", "--start-offset=2k", "--output=json", "--max-length=9k");
        same("e.qcow2", "--start-offset=1k", "--start-offset=zz");
        img("create", "-q", "-f", "qcow2", "-b", "gone.qcow2", "-F", "qcow2", "-u", "orphan.qcow2", "1M");
        same("orphan.qcow2");
    }
    /**
     * Images a running QEMU (qemu-io) holds for writing: refused with QEMU's two lines when the qcow2 driver's image
     * file is held (under "Could not open backing file:" for a backing file); mapped when the held file is a raw
     * image, a raw backing file or an external data file, which QEMU opens sharing writes. A folder and an empty
     * name are refused in the file driver's words.
     */
    @Test
    void heldImagesFoldersAndEmptyNames() throws Exception {
        img("create", "-q", "-f", "qcow2", "held.qcow2", "1M");
        io("held.qcow2", "write -P 0x11 0 64k");
        img("convert", "-O", "raw", "held.qcow2", "held.raw");
        img("create", "-q", "-f", "qcow2", "-b", "held.qcow2", "-F", "qcow2", "over-qcow2.qcow2", "1M");
        img("create", "-q", "-f", "qcow2", "-b", "held.raw", "-F", "raw", "over-raw.qcow2", "1M");
        img("create", "-q", "-f", "qcow2", "-o", "data_file=held.data", "e.qcow2", "1M");
        io("e.qcow2", "write -P 0x11 0 64k");
        Files.createDirectories(dir.resolve("folder"));
        try (Qemu.Holder a = Qemu.holdForWriting(dir, "qcow2", "held.qcow2");
             Qemu.Holder b = Qemu.holdForWriting(dir, "raw", "held.raw");
             Qemu.Holder c = Qemu.holdForWriting(dir, "raw", "held.data")) {
            for (String f : List.of("held.qcow2", "held.raw", "over-qcow2.qcow2", "over-raw.qcow2", "e.qcow2",
                    "folder", "")) {
                same(f);
            }
            same("held.qcow2", "-U");
        }
    }

    @Test
    void corruptMetadataEndsTheMapWithQemusLines() throws IOException {
        // an unaligned data cluster offset in an L2 entry, after a mapped cluster
        img("create", "-q", "-f", "qcow2", "cluster.qcow2", "4M");
        io("cluster.qcow2", "write -P 0x11 0 64k", "write -P 0x22 1M 64k");
        patchLong("cluster.qcow2", firstL2Table("cluster.qcow2") + 8 * 16, 0x8000_0000_0005_0200L);
        same("cluster.qcow2");
        same("cluster.qcow2", "--start-offset=1M");
        // an unaligned L2 table offset in the L1 table
        img("create", "-q", "-f", "qcow2", "table.qcow2", "4M");
        io("table.qcow2", "write -P 0x11 0 64k");
        long l1 = readLong("table.qcow2", 40);
        patchLong("table.qcow2", l1, readLong("table.qcow2", l1) | 0x200);
        same("table.qcow2");
        // extended L2: a subcluster both allocated and zero
        img("create", "-q", "-f", "qcow2", "-o", "extended_l2=on", "sub.qcow2", "4M");
        io("sub.qcow2", "write -P 0x11 0 64k");
        long bitmap = firstL2Table("sub.qcow2") + 8;
        patchLong("sub.qcow2", bitmap, readLong("sub.qcow2", bitmap) | (1L << 32));
        same("sub.qcow2");
    }

}
