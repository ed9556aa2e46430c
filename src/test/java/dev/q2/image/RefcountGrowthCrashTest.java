package dev.q2.image;

import dev.q2.io.ImageFile;
import dev.q2.testutil.Cli;
import dev.q2.testutil.CrashCopies;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Crash ordering of guest writes that make the refcount structures grow (RefcountAllocator: a new refcount block
 * placed to describe itself, and the refcount table moved to a larger one: new blocks and table written and synced,
 * the header pointed at the new table, only then the old table freed), with L2 tables allocated all along and
 * compressed clusters packed into shared host clusters. With 512-byte clusters a refcount block covers 32 KiB of
 * the file and one table cluster 2 MiB (64-bit refcounts; 32-bit: 64 KiB and 4 MiB), so 4.5 MiB of q2 io writes
 * move the table. The file is copied at every sync point (as a crash there would leave it). In every copy
 * {@code qemu-img check -r all} repairs the image to a clean one, every cluster reads zeros or the pattern its
 * write gave it (never another write's data or stale metadata), and a cluster that held its data in one copy still
 * holds it in every later copy (q2 io writes through, as qemu-io does: a completed write is durable).
 */
@Tag("qemu")
class RefcountGrowthCrashTest extends QemuTest {
    private static final int CLUSTER = 512;
    /** Guest MiB {@code i} (i = 0..5) is written with pattern {@code i + 1}; MiB 7 gets compressed clusters. */
    private static final int WRITES = 6;
    private static final int COMPRESSED_PATTERN = 0x77;

    @AfterEach
    void unhook() {
        ImageFile.syncHookForTests(null);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"cluster_size=512,refcount_bits=64", "cluster_size=512,refcount_bits=32",
        "cluster_size=512,refcount_bits=64,lazy_refcounts=on"})
    void everySyncPointKeepsCompletedWrites(String options) throws IOException {
        img("create", "-q", "-f", "qcow2", "-o", options, "img.qcow2", "8M");
        long tableBefore = readLong("img.qcow2", 48);
        List<String> args = new ArrayList<>(List.of("io"));
        for (int i = 0; i < WRITES; i++) {
            args.addAll(List.of("-c", "write -P " + (i + 1) + " " + (i << 20) + " 768k"));
        }
        args.addAll(List.of("-c", "write -c -P " + COMPRESSED_PATTERN + " 7M 16k", "-c", "write -z 256k 4k",
                "img.qcow2"));
        List<Path> copies = new ArrayList<>();
        Cli.Result r = CrashCopies.atEverySync(dir, copies, () -> Cli.runIn(dir, args.toArray(String[]::new)));
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        assertThat(readLong("img.qcow2", 48)).as("the refcount table moved").isNotEqualTo(tableBefore);
        assertThat(copies).as("sync points").hasSizeGreaterThan(WRITES);
        copies.add(dir.resolve("img.qcow2"));

        boolean[] held = new boolean[8 << 20 >> 9];
        for (Path c : copies) {
            String name = c.getFileName().toString();
            byte[] raw = dev.q2.testutil.CrashCopies.repairedGuestData(dir, c);
            for (int cluster = 0; cluster < held.length; cluster++) {
                long at = (long) cluster * CLUSTER;
                int want = pattern(at);
                int got = content(raw, cluster);
                if (zeroed(at)) {
                    assertThat(got).as(name + " cluster " + cluster).isIn(0, 1);
                    continue;
                }
                assertThat(got).as(name + " cluster " + cluster).isIn(0, want);
                if (held[cluster]) {
                    assertThat(got).as(name + " cluster " + cluster + " lost its data").isEqualTo(want);
                }
                held[cluster] = got != 0 && want != 0;
            }
        }
        // the finished image holds every write
        byte[] last = Files.readAllBytes(dir.resolve("raw"));
        for (int cluster = 0; cluster < held.length; cluster++) {
            assertThat(content(last, cluster)).as("cluster " + cluster).isEqualTo(pattern((long) cluster * CLUSTER));
        }
    }

    /** The byte a guest offset reads after the run (0 where nothing was written or zeros were). */
    private static int pattern(long at) {
        if (zeroed(at)) {
            return 0;
        }
        int mib = (int) (at >> 20);
        if (mib < WRITES && (at & ((1 << 20) - 1)) < 768 << 10) {
            return mib + 1;
        }
        if (mib == 7 && (at & ((1 << 20) - 1)) < 16 << 10) {
            return COMPRESSED_PATTERN;
        }
        return 0;
    }

    /** The write -z over part of the first write: before it, the first write's pattern (or zeros). */
    private static boolean zeroed(long at) {
        return at >= 256 << 10 && at < (256 << 10) + 4096;
    }

    /** The byte a cluster is filled with, or -1 when it is not uniform. */
    private static int content(byte[] raw, int cluster) {
        int base = cluster * CLUSTER;
        byte first = raw[base];
        for (int i = 1; i < CLUSTER; i++) {
            if (raw[base + i] != first) {
                return -1;
            }
        }
        return first & 0xff;
    }
}
