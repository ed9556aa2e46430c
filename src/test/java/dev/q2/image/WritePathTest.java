package dev.q2.image;

import dev.q2.format.L1Entry;
import dev.q2.format.L2Entry;
import dev.q2.format.SubclusterBitmap;
import dev.q2.testutil.Cli;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The engine's cluster mapping and write path on images made by q2 create (no qemu): copy-on-write of a partly
 * written cluster over a backing file, writes in place once a cluster is ours (OFLAG_COPIED), subcluster bitmaps
 * with extended L2, zero writes and discards as entries; the L2 entries are read back from the file, and every image
 * is left consistent for q2 check.
 */
class WritePathTest {
    private static final int CLUSTER = 65536;
    private static final int SUBCLUSTER = CLUSTER / 32;

    @TempDir
    Path dir;

    private byte[] base;

    private Path create(String options, boolean withBacking) throws IOException {
        String[] args;
        if (withBacking) {
            base = new byte[1 << 20];
            for (int i = 0; i < base.length; i++) {
                base[i] = (byte) (i * 7 + 1);
            }
            Files.write(dir.resolve("base.raw"), base);
            args = new String[] {"create", "-q", "-f", "qcow2", "-o", options, "-b", "base.raw", "-F", "raw",
                "img.qcow2", "1M"};
        } else {
            base = new byte[1 << 20];
            args = new String[] {"create", "-q", "-f", "qcow2", "-o", options, "img.qcow2", "1M"};
        }
        assertThat(Cli.runIn(dir, args).exitCode()).isZero();
        return dir.resolve("img.qcow2");
    }

    @AfterEach
    void imageIsConsistent() {
        if (Files.exists(dir.resolve("img.qcow2"))) {
            Cli.Result r = Cli.runIn(dir, "check", "img.qcow2");
            assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        }
    }

    /** {entry, bitmap} of the L2 entry that maps {@code guest}, read from the file; null without an L2 table. */
    private long[] mapping(Path img, long guest) throws IOException {
        try (Qcow2Metadata image = Qcow2Metadata.openReadOnly(img)) {
            long cluster = guest / image.clusterSize();
            int l2Bits = image.header().l2Bits();
            long l2Offset = L1Entry.l2Offset(image.l1Table()[(int) (cluster >>> l2Bits)]);
            if (l2Offset == 0) {
                return null;
            }
            L2Table table = image.readL2Table(l2Offset);
            int index = (int) (cluster & ((1L << l2Bits) - 1));
            return new long[] {table.entry(index), table.bitmap(index)};
        }
    }

    private static byte[] read(Qcow2Disk disk, long offset, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        disk.read(offset, b);
        return b.array();
    }

    private static byte[] filled(int length, int value) {
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) value);
        return b;
    }

    @Test
    void partialWriteCopiesTheRestOfTheClusterFromTheBackingFile() throws IOException {
        Path img = create("cluster_size=65536", true);
        try (Qcow2Disk disk = Qcow2Disk.open(img, DiskOptions.readWrite())) {
            disk.write(CLUSTER + 1000, ByteBuffer.wrap(filled(100, 0xaa)));
            assertThat(disk.stats().cowBytes).as("the cluster around the write").isEqualTo(CLUSTER - 100);
            byte[] expected = Arrays.copyOfRange(base, CLUSTER, 2 * CLUSTER);
            Arrays.fill(expected, 1000, 1100, (byte) 0xaa);
            assertThat(read(disk, CLUSTER, CLUSTER)).isEqualTo(expected);
        }
        long[] m = mapping(img, CLUSTER);
        assertThat(L2Entry.type(m[0], false)).isEqualTo(L2Entry.Type.NORMAL);
        assertThat(L2Entry.copied(m[0])).as("OFLAG_COPIED").isTrue();
        assertThat(mapping(img, 0)[0]).as("the neighbour stays unallocated").isZero();

        try (Qcow2Disk disk = Qcow2Disk.open(img, DiskOptions.readWrite())) {
            disk.write(CLUSTER + 5000, ByteBuffer.wrap(filled(10, 0xbb)));
            assertThat(disk.stats().cowBytes).as("a cluster of ours is written in place").isZero();
            assertThat(read(disk, CLUSTER + 4999, 12)).containsExactly(base[CLUSTER + 4999], 0xbb - 256, 0xbb - 256,
                    0xbb - 256, 0xbb - 256, 0xbb - 256, 0xbb - 256, 0xbb - 256, 0xbb - 256, 0xbb - 256, 0xbb - 256,
                    base[CLUSTER + 5010]);
        }
        assertThat(mapping(img, CLUSTER)[0]).as("same host cluster").isEqualTo(m[0]);
    }

    @Test
    void wholeClusterWritesCopyNothingAndRunTogether() throws IOException {
        Path img = create("cluster_size=65536", true);
        try (Qcow2Disk disk = Qcow2Disk.open(img, DiskOptions.readWrite())) {
            disk.write(0, ByteBuffer.wrap(filled(4 * CLUSTER, 0x11)));
            assertThat(disk.stats().cowBytes).isZero();
            long[] run = disk.hostRun(0, 4 * CLUSTER);
            assertThat(run).as("four adjacent host clusters").isNotNull();
            assertThat(run[1]).isEqualTo(4 * CLUSTER);
            assertThat(read(disk, 4 * CLUSTER - 1, 2)).containsExactly(0x11, base[4 * CLUSTER]);
        }
    }

    @Test
    void extendedL2WritesAllocateOnlyTheTouchedSubclusters() throws IOException {
        Path img = create("cluster_size=65536,extended_l2=on", true);
        try (Qcow2Disk disk = Qcow2Disk.open(img, DiskOptions.readWrite())) {
            disk.write(SUBCLUSTER + 100, ByteBuffer.wrap(filled(100, 0xcc))); // inside subcluster 1
            assertThat(disk.stats().cowBytes).as("only the edges of subcluster 1").isEqualTo(SUBCLUSTER - 100);
            byte[] expected = Arrays.copyOfRange(base, 0, CLUSTER);
            Arrays.fill(expected, SUBCLUSTER + 100, SUBCLUSTER + 200, (byte) 0xcc);
            assertThat(read(disk, 0, CLUSTER)).isEqualTo(expected);
        }
        long[] m = mapping(img, 0);
        assertThat(L2Entry.copied(m[0])).isTrue();
        assertThat(SubclusterBitmap.allocMask(m[1])).isEqualTo(1 << 1);
        assertThat(SubclusterBitmap.zeroMask(m[1])).isZero();

        try (Qcow2Disk disk = Qcow2Disk.open(img, DiskOptions.readWrite())) {
            disk.write(3 * SUBCLUSTER - 10, ByteBuffer.wrap(filled(20, 0xdd))); // subclusters 2 and 3
            disk.writeZeroes(5 * SUBCLUSTER, SUBCLUSTER, false);
            assertThat(read(disk, 5 * SUBCLUSTER, SUBCLUSTER)).isEqualTo(new byte[SUBCLUSTER]);
            assertThat(read(disk, 6 * SUBCLUSTER, 1)).containsExactly(base[6 * SUBCLUSTER]);
        }
        m = mapping(img, 0);
        assertThat(SubclusterBitmap.allocMask(m[1])).isEqualTo(0b1110);
        assertThat(SubclusterBitmap.zeroMask(m[1])).isEqualTo(1 << 5);
    }

    @Test
    void zeroWritesAndDiscardsBecomeEntries() throws IOException {
        Path img = create("cluster_size=65536", true);
        try (Qcow2Disk disk = Qcow2Disk.open(img, DiskOptions.readWrite())) {
            disk.write(0, ByteBuffer.wrap(filled(2 * CLUSTER, 0x22)));
            disk.writeZeroes(0, CLUSTER, false); // keeps its host cluster
            disk.writeZeroes(2 * CLUSTER, CLUSTER, false); // unallocated: a plain zero cluster
            disk.discard(CLUSTER, CLUSTER, true); // unallocated again: the backing file shows through
            assertThat(read(disk, 0, CLUSTER)).isEqualTo(new byte[CLUSTER]);
            assertThat(read(disk, CLUSTER, CLUSTER)).isEqualTo(Arrays.copyOfRange(base, CLUSTER, 2 * CLUSTER));
            assertThat(read(disk, 2 * CLUSTER, CLUSTER)).isEqualTo(new byte[CLUSTER]);
        }
        assertThat(L2Entry.type(mapping(img, 0)[0], false)).isEqualTo(L2Entry.Type.ZERO_ALLOC);
        assertThat(mapping(img, CLUSTER)[0]).isZero();
        assertThat(L2Entry.type(mapping(img, 2 * CLUSTER)[0], false)).isEqualTo(L2Entry.Type.ZERO_PLAIN);
    }

    @Test
    void aZeroAllocatedClusterIsWrittenInPlaceWithZerosAround() throws IOException {
        Path img = create("cluster_size=65536", true);
        try (Qcow2Disk disk = Qcow2Disk.open(img, DiskOptions.readWrite())) {
            disk.write(0, ByteBuffer.wrap(filled(CLUSTER, 0x33)));
            disk.writeZeroes(0, CLUSTER, false);
            disk.write(10, ByteBuffer.wrap(filled(10, 0x44)));
            byte[] expected = new byte[CLUSTER];
            Arrays.fill(expected, 10, 20, (byte) 0x44);
            assertThat(read(disk, 0, CLUSTER)).isEqualTo(expected);
        }
        long[] m = mapping(img, 0);
        assertThat(L2Entry.type(m[0], false)).isEqualTo(L2Entry.Type.NORMAL);
    }
}
