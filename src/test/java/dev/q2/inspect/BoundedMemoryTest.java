package dev.q2.inspect;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hostile size fields, inspected by {@code q2 inspect} in a JVM with a 96 MiB heap: an allocation sized from a
 * claim (terabytes of L1 or refcount table, four billion snapshots, a thousand bitmaps sharing one 8 MiB table, an L1 table
 * whose four million entries all name one L2 table) would end in an OutOfMemoryError and no verdict. Each must
 * instead end in "unsafe" (exit 2) with the rule that names the problem.
 */
class BoundedMemoryTest {
    @TempDir
    Path dir;

    enum Hostile { TABLE_SIZES_TERABYTES, ONE_L2_TABLE_FOUR_MILLION_TIMES, BITMAP_TABLES_HUGE }

    @ParameterizedTest
    @EnumSource(Hostile.class)
    void verdictWithinASmallHeap(Hostile h) throws Exception {
        Path p = Images.qcow2(dir, "img.qcow2", h == Hostile.BITMAP_TABLES_HUGE ? List.of("-o", "cluster_size=512")
                : List.of(), "write -P 1 0 64k");
        String expected;
        switch (h) {
            case TABLE_SIZES_TERABYTES -> {
                Images.writeInt(p, Images.L1_SIZE, -1);
                Images.writeInt(p, Images.REFCOUNT_TABLE_CLUSTERS, -1);
                Images.writeInt(p, Images.NB_SNAPSHOTS, -1);
                Images.writeLong(p, Images.SNAPSHOTS_OFFSET, 1L << 16);
                expected = "invalid-metadata: ";
            }
            case ONE_L2_TABLE_FOUR_MILLION_TIMES -> {
                long l1 = Images.readLong(p, Images.L1_TABLE_OFFSET);
                long l2 = Images.readLong(p, l1) & 0x00fffffffffffe00L;
                int entries = 1 << 22;
                ByteBuffer table = ByteBuffer.allocate(entries * 8);
                for (int i = 0; i < entries; i++) {
                    table.putLong(l2 | (1L << 63));
                }
                long at = Files.size(p);
                try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
                    f.seek(at);
                    f.write(table.array());
                }
                Images.writeLong(p, Images.L1_TABLE_OFFSET, at);
                Images.writeInt(p, Images.L1_SIZE, entries);
                Images.writeLong(p, Images.SIZE, (long) entries << 29);
                expected = "metadata-amplification: ";
            }
            default -> {
                // 1000 bitmaps whose tables are one 8 MiB table in the file: 8 GB to read for QEMU's open checks
                bitmaps(p, 1000);
                expected = "metadata-amplification: ";
            }
        }
        Process proc = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx96m", "-cp", System.getProperty("java.class.path"), "dev.q2.cli.Main", "inspect", p.toString())
                .redirectErrorStream(true).start();
        String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(proc.waitFor(300, TimeUnit.SECONDS)).isTrue();
        assertThat(out).doesNotContain("Exception").doesNotContain("Error:");
        assertThat(proc.exitValue()).as(out).isEqualTo(2);
        assertThat(out).contains(expected);
    }

    /**
     * Writes {@code n} bitmaps that all use one table of 2^20 entries (8 MiB, the most QEMU allows with 512-byte
     * clusters) for a 2 TiB disk at 512-byte granularity, a bitmap directory, and the extension that names it.
     */
    private static void bitmaps(Path p, int n) throws Exception {
        int entries = 1 << 20;
        long table = (Files.size(p) + 511) & ~511L;
        long at = table + entries * 8L;
        ByteBuffer dir = ByteBuffer.allocate(n * 32);
        for (int i = 0; i < n; i++) {
            dir.putLong(table); // bitmap_table_offset
            dir.putInt(entries); // bitmap_table_size
            dir.putInt(0); // flags
            dir.put((byte) 1).put((byte) 9).putShort((short) 4).putInt(0); // type, granularity 512, name 4 bytes
            dir.put(String.format("b%03d", i).getBytes(StandardCharsets.US_ASCII)).putInt(0); // name, padding
        }
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.seek(at);
            f.write(dir.array());
            // the extension after the header (112 bytes for v3 as q2 and qemu-img write it), then the end marker
            ByteBuffer ext = ByteBuffer.allocate(8 + 24 + 8);
            ext.putInt(0x23852875).putInt(24).putInt(n).putInt(0).putLong(dir.capacity()).putLong(at);
            ext.putLong(0);
            f.seek(112);
            f.write(ext.array());
        }
        Images.setBits(p, 88, 1); // autoclear: bitmaps
        Images.writeLong(p, Images.SIZE, 1L << 41);
    }
}
