package dev.q2.check;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import static dev.q2.check.CheckDifferentialTest.readLong;
import static dev.q2.check.CheckDifferentialTest.writeLong;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Headers and snapshot tables that claim huge sizes: q2 check answers as qemu-img check does (same stderr, stdout
 * and exit code), quickly, and without allocating from the claimed sizes (the heap grows by far less than the claim).
 */
@Tag("qemu")
class CheckHostileTest {
    /** Seconds of work from a hostile size field would show as minutes; 20 s tolerates any load seen here. */
    private static final long BOUND_MS = 20_000;

    @TempDir
    Path dir;

    enum Hostile {
        L1_TERABYTES, REFTABLE_TERABYTES, SNAPSHOT_COUNT_HUGE, SNAPSHOT_COUNT_65536, SNAPSHOTS_65535_ONE_HUGE_L1,
        SNAPSHOTS_65535_ALL_HUGE_L1, SNAPSHOT_NAMES_TOO_BIG, SNAPSHOT_EXTRA_HUGE, SNAPSHOT_OFFSET_UNALIGNED
    }

    @ParameterizedTest
    @EnumSource(Hostile.class)
    void answersAsQemuImgQuicklyAndInBoundedMemory(Hostile h) throws Exception {
        hostileImage(h);
        Files.copy(dir.resolve("img.qcow2"), dir.resolve("before.qcow2"), StandardCopyOption.REPLACE_EXISTING);

        for (String output : new String[] {"human", "json"}) {
            Qemu.Result q = Qemu.img(dir, "check", "--output=" + output, "img.qcow2");
            Runtime rt = Runtime.getRuntime();
            System.gc();
            long usedBefore = rt.totalMemory() - rt.freeMemory();
            long t0 = System.nanoTime();
            Cli.Result mine = Cli.runIn(dir, "check", "--output=" + output, "img.qcow2");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            long grownMiB = (rt.totalMemory() - rt.freeMemory() - usedBefore) >> 20;
            assertThat(mine.err()).isEqualTo(q.err().replace("qemu-img: ", "q2: "));
            assertThat(mine.out()).isEqualTo(q.out());
            assertThat(mine.exitCode()).isEqualTo(q.exitCode());
            // a bound against claimed sizes making q2 work for minutes, not a speed target (bench/ measures speed):
            // generous enough for a 2-core machine with two CPU-bound processes beside the tests
            assertThat(ms).as("milliseconds").isLessThan(BOUND_MS);
            assertThat(grownMiB).as("MiB allocated").isLessThan(256);
        }
        // without -r nothing changes
        assertThat(Files.mismatch(dir.resolve("img.qcow2"), dir.resolve("before.qcow2"))).isEqualTo(-1L);
    }

    /** {@code -r all} on copies: q2 repairs (or fails) as qemu-img does, in bounded time. */
    @ParameterizedTest
    @EnumSource(Hostile.class)
    void repairsAsQemuImg(Hostile h) throws Exception {
        hostileImage(h);
        CheckVerdicts.Repair r = CheckVerdicts.sameRepairOfCopies(dir);
        assertThat(r.q2Millis()).as("milliseconds").isLessThan(BOUND_MS);
        assertThat(Qemu.img(dir, "check", "m.qcow2").exitCode())
                .isEqualTo(Qemu.img(dir, "check", "q.qcow2").exitCode());
    }

    /** img.qcow2: 4 MiB, 64 KiB of data, one snapshot, then corrupted as {@code h} says. */
    private void hostileImage(Hostile h) throws IOException {
        Qemu.assumeAvailable();
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "img.qcow2", "4M");
        Qemu.ioOk(dir, "img.qcow2", "write -P 1 0 64k");
        Qemu.imgOk(dir, "snapshot", "-c", "s1", "img.qcow2");
        corrupt(dir.resolve("img.qcow2"), h);
    }

    private static void corrupt(Path img, Hostile h) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            long snap = readLong(f, 64);
            switch (h) {
                case L1_TERABYTES -> writeInt(f, 36, 0xffffffff);
                case REFTABLE_TERABYTES -> writeInt(f, 56, 0xffffffff);
                case SNAPSHOT_COUNT_HUGE -> writeInt(f, 60, 0xffffffff);
                case SNAPSHOT_COUNT_65536 -> writeInt(f, 60, 65536);
                case SNAPSHOTS_65535_ONE_HUGE_L1 -> {
                    writeInt(f, 60, 65535);
                    writeInt(f, snap + 8, 0xffffffff);
                }
                case SNAPSHOTS_65535_ALL_HUGE_L1 -> {
                    // 65535 entries of 40 bytes with 16 bytes of extra data, no id or name, each claiming a
                    // 16 GiB L1 table
                    writeInt(f, 60, 65535);
                    byte[] table = new byte[65535 * 56];
                    java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(table);
                    for (int i = 0; i < 65535; i++) {
                        b.putLong(i * 56, 0x10000L * 1000);
                        b.putInt(i * 56 + 8, 0xffffffff);
                        b.putInt(i * 56 + 36, 16);
                    }
                    long at = (f.length() + 0xffff) & ~0xffffL; // the table must be cluster aligned
                    f.seek(at);
                    f.write(table);
                    writeLong(f, 64, at);
                }
                case SNAPSHOT_NAMES_TOO_BIG -> {
                    writeInt(f, 60, 65535);
                    long at = (f.length() + 0xffff) & ~0xffffL;
                    f.setLength(at + 65536);
                    f.seek(at + 12);
                    f.writeShort(0xffff);
                    f.writeShort(0xffff);
                    writeLong(f, 64, at);
                    // an entry of 40 + 128K bytes; 65535 of them would be 8 GiB: QEMU stops at 64 MiB
                    byte[] e = new byte[40];
                    java.nio.ByteBuffer.wrap(e).putShort(12, (short) 0xffff).putShort(14, (short) 0xffff);
                    long p = at;
                    for (int i = 0; i < 600; i++) {
                        f.seek(p);
                        f.write(e);
                        p = (p + 40 + 0x1fffe + 7) & ~7L;
                    }
                }
                case SNAPSHOT_EXTRA_HUGE -> writeInt(f, snap + 36, 0xffffffff);
                case SNAPSHOT_OFFSET_UNALIGNED -> writeLong(f, 64, snap + 8);
            }
        }
    }

    private static void writeInt(RandomAccessFile f, long pos, int v) throws IOException {
        f.seek(pos);
        f.writeInt(v);
    }
}
