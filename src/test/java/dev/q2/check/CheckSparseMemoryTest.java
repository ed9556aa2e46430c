package dev.q2.check;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.RandomAccessFile;
import java.nio.file.Path;

import static dev.q2.check.CheckDifferentialTest.readLong;
import static dev.q2.check.CheckDifferentialTest.writeLong;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * References spread thinly over a huge sparse file: q2 check answers as qemu-img check and its counters grow with
 * what is referenced, at most about what QEMU's calloc'ed array touches (one 4 KiB memory page per spread reference),
 * not with the file's length. 2048 data clusters 256 MiB apart in a 513 GiB file took 256 MiB of counters with
 * 128 KiB pages; qemu-img's process peaks at about 270 MB on it.
 */
@Tag("qemu")
class CheckSparseMemoryTest {
    @TempDir
    Path dir;

    enum Spread { DATA_CLUSTERS_256M_APART, L2_TABLE_AND_REFBLOCK_FAR_OUT }

    @ParameterizedTest
    @EnumSource(Spread.class)
    void boundedByWhatIsReferenced(Spread s) throws Exception {
        Qemu.assumeAvailable();
        assertThat(Qemu.img(dir, "create", "-q", "-f", "qcow2", "-o", "cluster_size=4k", "img.qcow2", "8M")
                .exitCode()).isZero();
        assertThat(Qemu.io(dir, "-c", "write -P 7 0 8M", "img.qcow2").exitCode()).isZero();
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("img.qcow2").toFile(), "rw")) {
            long l1 = readLong(f, 40);
            long far = 1L << 30;
            if (s == Spread.DATA_CLUSTERS_256M_APART) {
                int k = 0;
                for (int i = 0; i < 4; i++) {
                    long l2 = readLong(f, l1 + 8L * i) & 0x00fffffffffffe00L;
                    for (int j = 0; j < 512; j++) {
                        writeLong(f, l2 + 8L * j, (1L << 63) | (far + (long) k++ << 28));
                    }
                }
                f.setLength(far + ((long) k << 28));
            } else {
                // the first L2 table copied 400 GiB out, and a refcount block 600 GiB out
                long l2 = readLong(f, l1) & 0x00fffffffffffe00L;
                byte[] table = new byte[4096];
                f.seek(l2);
                f.readFully(table);
                long at = 400L << 30;
                f.seek(at);
                f.write(table);
                writeLong(f, l1, (1L << 63) | at);
                writeLong(f, readLong(f, 48) + 8, 600L << 30);
                f.setLength((700L << 30));
            }
        }
        Qemu.Result q = Qemu.img(dir, "check", "img.qcow2");
        Runtime rt = Runtime.getRuntime();
        System.gc();
        long before = rt.totalMemory() - rt.freeMemory();
        Cli.Result m = Cli.runIn(dir, "check", "img.qcow2");
        long grownMiB = (rt.totalMemory() - rt.freeMemory() - before) >> 20;
        assertThat(m.err()).isEqualTo(q.err().replace("qemu-img: ", "q2: "));
        assertThat(m.out()).isEqualTo(q.out());
        assertThat(m.exitCode()).isEqualTo(q.exitCode());
        assertThat(grownMiB).as("MiB allocated").isLessThan(64);
    }
}
