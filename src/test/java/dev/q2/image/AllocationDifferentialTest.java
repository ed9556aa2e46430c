package dev.q2.image;

import dev.q2.io.NativeFiles;
import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Where the engine puts what it allocates, against qemu-io: the same command sequence run by qemu-io and by q2 io on
 * copies of one image gives the same file, byte for byte, and qemu-img check finds it clean. Pins QEMU's allocator
 * (freed clusters found again through free_cluster_index, a write's host range continued across L2 tables with
 * qcow2_alloc_clusters_at, the refcount table grown at the end), guest discards passed down to the file, the
 * zero-write split of the block layer and qcow2_subcluster_zeroize, and extended-L2 copy-on-write (iotests 044,
 * 250, 271).
 */
@Tag("qemu")
class AllocationDifferentialTest extends QemuTest {

    /** Runs {@code commands} with qemu-io on q.qcow2 and with q2 io on o.qcow2 (copies of one image). */
    private void sameFileAfter(String... commands) throws IOException {
        Files.copy(dir.resolve("q.qcow2"), dir.resolve("o.qcow2"));
        List<String> q = new ArrayList<>();
        List<String> o = new ArrayList<>(List.of("io"));
        for (String c : commands) {
            q.addAll(List.of("-c", c));
            o.addAll(List.of("-c", c));
        }
        q.add("q.qcow2");
        o.add("o.qcow2");
        Qemu.Result qr = Qemu.io(dir, q.toArray(String[]::new));
        Cli.Result or = Cli.runIn(dir, o.toArray(String[]::new));
        assertThat(or.exitCode()).as(or.out() + or.err()).isEqualTo(qr.exitCode());
        assertThat(Files.mismatch(dir.resolve("q.qcow2"), dir.resolve("o.qcow2"))).as(String.join("; ", commands))
                .isEqualTo(-1L);
        Qemu.ok(Qemu.img(dir, "check", "o.qcow2"));
    }

    @Test
    void clustersFreedByADiscardAreTakenByTheNextWrites() throws IOException {
        // iotest 250, smaller: the first clusters' hosts are found again by the write at the end, and the reverse
        img("create", "-q", "-f", "qcow2", "-o", "cluster_size=64k,preallocation=metadata", "q.qcow2", "40M");
        sameFileAfter("discard 0 1M", "discard 39M 1M", "write -P 0x11 39M 1M", "write -P 0x22 0 1M");
    }

    @Test
    void clustersFreedByACopyOnWriteAreReused() throws IOException {
        img("create", "-q", "-f", "qcow2", "q.qcow2", "8M");
        Qemu.ioOk(dir, "q.qcow2", "write -c -P 0x33 0 64k", "write -c -P 0x34 64k 64k", "write -P 0x35 1M 64k");
        sameFileAfter("write -P 0x44 0 4k", "write -P 0x45 64k 4k", "discard 1M 64k", "write -P 0x46 2M 192k");
    }

    @ParameterizedTest(name = "a write over many L2 tables and refcount blocks, {0}-byte clusters")
    @ValueSource(ints = {512, 1024})
    void aWriteContinuesItsHostRangeAcrossL2Tables(int clusterSize) throws IOException {
        // each L2 table needs a cluster, each refcount block too: the data runs resume after them as QEMU's do
        img("create", "-q", "-f", "qcow2", "-o", "cluster_size=" + clusterSize, "q.qcow2", "64M");
        Qemu.ioOk(dir, "q.qcow2", "write -P 0x10 32M 3k");
        sameFileAfter("write -P 0x11 0 2M", "write -P 0x12 1536k 1M", "discard 512k 256k", "write -P 0x13 40M 512k");
    }

    @Test
    void aFullRefcountTableGrowsAndItsOldClustersAreReused() throws IOException {
        // iotest 044, smaller: every cluster the refcount table can describe is in use
        img("create", "-q", "-f", "qcow2", "-o", "cluster_size=512", "q.qcow2", "64M");
        // one refcount table cluster (64 blocks of 256 clusters = 8 MiB of file): fill the file up to it
        Qemu.ioOk(dir, "q.qcow2", "write -P 0x20 0 7M");
        sameFileAfter("write -P 0x21 10M 1M", "write -P 0x22 20M 300k");
    }

    @Test
    void discardedClustersArePunchedInTheFile() throws IOException {
        // qcow2_process_discards: the clusters a guest discard (or zero write with unmap) frees become holes
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeFiles.available(), "no lseek(SEEK_DATA) here");
        for (String name : List.of("q.qcow2", "o.qcow2")) {
            img("create", "-q", "-f", "qcow2", name, "10M");
            Qemu.ioOk(dir, name, "write -P 0x55 0 2M");
        }
        List<List<Long>> before = dataRuns("o.qcow2");
        Qemu.ioOk(dir, "q.qcow2", "discard 0 1M", "write -z -u 1536k 256k");
        Cli.Result o = Cli.runIn(dir, "io", "-c", "discard 0 1M", "-c", "write -z -u 1536k 256k", "o.qcow2");
        assertThat(o.exitCode()).as(o.err()).isZero();
        assertThat(Files.mismatch(dir.resolve("q.qcow2"), dir.resolve("o.qcow2"))).isEqualTo(-1L);
        // the same data and holes (compared as lseek finds them: st_blocks also counts the file system's own
        // extent blocks, which vary with the order of writes)
        assertThat(dataRuns("o.qcow2")).isEqualTo(dataRuns("q.qcow2")).isNotEqualTo(before);
    }

    @Test
    void zeroWritesOverCompressedExtendedClustersFallBackAsQemus() throws IOException {
        // iotest 271 "Writing zeroes 3": a partial compressed cluster at either end of the aligned part of a zero
        // write makes the whole part a write of zeros; the head, when unaligned, is a request of its own
        img("create", "-q", "-f", "qcow2", "-o", "extended_l2=on", "q.qcow2", "2083k");
        List<String> compress = new ArrayList<>();
        for (int c = 18; c <= 28; c++) {
            compress.add("write -q -c -P " + c + " " + (c * 64) + "k 64k");
        }
        Qemu.ioOk(dir, "q.qcow2", compress.toArray(String[]::new));
        sameFileAfter("write -q -z 1152k 192k", "write -q -z 1376k 128k", "write -q -z 1567k 129k",
                "write -q -z 1759k 128k", "write -q -z 1951k 8k", "write -q -z 2048k 35k", "write -q -z 2k 2k");
    }

    @Test
    void zeroWritesOnExtendedL2SetZeroBitsAsQemu() throws IOException {
        img("create", "-q", "-f", "qcow2", "-o", "extended_l2=on", "q.qcow2", "2083k");
        Qemu.ioOk(dir, "q.qcow2", "write -P 0x66 576k 576k");
        sameFileAfter("write -q -z 0 192k", "write -q -z 224k 128k", "write -q -z 399k 128k",
                "write -q -z 576k 192k", "write -q -z 800k 128k", "write -q -z 975k 128k", "write -q -z 2k 2k",
                "write -q -z -u 640k 64k");
    }

    @Test
    void copyOnWriteOfAnExtendedClusterSharedWithASnapshotCoversItsAllocatedRange() throws IOException {
        // iotest 271 "copy-on-write on an image with snapshots"
        img("create", "-q", "-f", "qcow2", "-o", "extended_l2=on", "q.qcow2", "1M");
        List<String> prep = new ArrayList<>();
        for (int c = 0; c <= 9; c++) {
            prep.add("write -q -z " + (64 * c + 14) + "k 2k");
            prep.add("write -q -P " + (0xd0 + c) + " " + (64 * c + 26) + "k 2k");
            prep.add("write -q -P " + (0xe0 + c) + " " + (64 * c + 36) + "k 2k");
        }
        Qemu.ioOk(dir, "q.qcow2", prep.toArray(String[]::new));
        img("snapshot", "-c", "snap1", "q.qcow2");
        sameFileAfter("write -q -P 0xf0 30k 1k", "write -q -P 0xf1 84k 1k", "write -q -P 0xf2 168k 1k",
                "write -q -P 0xf3 218k 1k", "write -q -P 0xf4 270k 1k", "write -q -P 0xf5 321k 1k",
                "write -q -z 414k 3k", "write -q -z 474k 2k", "write -q -z 538k 1k", "write -q -z 588k 1k");
    }

    @Test
    void aDiscardLeavesTheZeroBitsOfAnUnallocatedClusterWithoutBackingFile() throws IOException {
        img("create", "-q", "-f", "qcow2", "-o", "extended_l2=on", "q.qcow2", "1M");
        Qemu.ioOk(dir, "q.qcow2", "write -q 0 128k", "discard -q 0 128k");
        long l2 = 0x40000;
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("q.qcow2").toFile(), "rw")) {
            f.seek(l2 + 8);
            f.write(new byte[] {0, 0}); // zero bits of subclusters 16-31 cleared
        }
        sameFileAfter("discard -q 0 64k");
    }

    @Test
    void aWriteOverAnInvalidExtendedEntryMarksTheImageCorrupt() throws IOException {
        img("create", "-q", "-f", "qcow2", "-o", "extended_l2=on", "q.qcow2", "1M");
        Qemu.ioOk(dir, "q.qcow2", "write -q 32k 128k");
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("q.qcow2").toFile(), "rw")) {
            f.seek(0x40000 + 24);
            f.writeInt(1); // cluster 1: subcluster 0 both zero and allocated
        }
        Files.copy(dir.resolve("q.qcow2"), dir.resolve("o.qcow2"));
        Qemu.Result q = Qemu.io(dir, "-c", "write -q -P 0x11 0 192k", "q.qcow2");
        Cli.Result o = Cli.runIn(dir, "io", "-c", "write -q -P 0x11 0 192k", "o.qcow2");
        assertThat(q.err() + q.out()).contains("Invalid cluster entry found (L2 offset: 0x40000, L2 index: 0x1)");
        assertThat(o.err() + o.out()).contains("Invalid cluster entry found (L2 offset: 0x40000, L2 index: 0x1)")
                .contains("write failed: Input/output error");
        assertThat(Files.mismatch(dir.resolve("q.qcow2"), dir.resolve("o.qcow2"))).isEqualTo(-1L);
    }

    /** The file's data runs {start, end} as lseek(SEEK_DATA/SEEK_HOLE) finds them. */
    private List<List<Long>> dataRuns(String name) {
        int fd = NativeFiles.open(dir.resolve(name));
        assertThat(fd).isNotNegative();
        try {
            List<List<Long>> runs = new ArrayList<>();
            long pos = 0;
            while (true) {
                long data = NativeFiles.seekData(fd, pos);
                if (data < 0) {
                    return runs;
                }
                long hole = NativeFiles.seekHole(fd, data);
                runs.add(List.of(data, hole));
                pos = hole;
            }
        } finally {
            NativeFiles.close(fd);
        }
    }
}
