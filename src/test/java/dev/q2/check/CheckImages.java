package dev.q2.check;

import dev.q2.testutil.Cli;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Small qcow2 images for the check's unit tests, made in-process by q2 create and q2 io (no qemu-img): 1 MiB,
 * 64 KiB clusters, 64 KiB of data at offset 0, so the file holds header, refcount table, refcount block, L1 table,
 * L2 table and one data cluster (clusters 0 to 5), and then damaged with byte patches.
 */
final class CheckImages {
    static final long CLUSTER = 65536;

    private CheckImages() {
    }

    /** A clean image with one data cluster. */
    static Path clean(Path dir, String name) {
        assertThat(Cli.runIn(dir, "create", "-q", "-f", "qcow2", name, "1M").exitCode()).isZero();
        assertThat(Cli.runIn(dir, "io", "-c", "write -P 1 0 64k", name).exitCode()).isZero();
        return dir.resolve(name);
    }

    /** A clean image plus one leaked cluster (cluster 6: refcount 1, no reference). */
    static Path leaked(Path dir, String name) throws IOException {
        Path img = clean(dir, name);
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(7 * CLUSTER);
            CheckDifferentialTest.setRefcount(f, reftable(f), CLUSTER, 16, 4, 6 * CLUSTER, 1);
        }
        return img;
    }

    /** A clean image whose data cluster's L2 entry lost OFLAG_COPIED (a corruption -r all repairs). */
    static Path copiedFlagCleared(Path dir, String name) throws IOException {
        Path img = clean(dir, name);
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            long l2 = l2Offset(f);
            long entry = CheckDifferentialTest.readLong(f, l2);
            CheckDifferentialTest.writeLong(f, l2, entry & ~(1L << 63));
        }
        return img;
    }

    static long reftable(RandomAccessFile f) throws IOException {
        return CheckDifferentialTest.readLong(f, 48);
    }

    static long l2Offset(RandomAccessFile f) throws IOException {
        long l1 = CheckDifferentialTest.readLong(f, 40);
        return CheckDifferentialTest.readLong(f, l1) & 0x00fffffffffffe00L;
    }
}
