package dev.q2.check;

import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;

import static dev.q2.check.CheckDifferentialTest.readInt;
import static dev.q2.check.CheckDifferentialTest.readLong;
import static dev.q2.check.CheckDifferentialTest.setRefcount;
import static dev.q2.check.CheckDifferentialTest.writeLong;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code check -r all} on images whose snapshot table needs repair (qcow2_check_fix_snapshot_table): q2 and
 * qemu-img run on copies of the same image; same exit code, stdout and stderr; then qemu-img check on q2's result
 * answers as on qemu-img's, and both list the same snapshots.
 */
@Tag("qemu")
class CheckSnapshotRepairDifferentialTest {
    @TempDir
    Path dir;

    enum Damage {
        /** 2 KiB of extra data in entry 0 (cut to 1 KiB; the rest of the table is read from inside it). */
        EXTRA_2K,
        /** the same in a version 2 image (no incomplete entries there). */
        EXTRA_2K_V2,
        /** entries without extra data, and a data cluster with refcount 0: the refcounts are rebuilt first. */
        INCOMPLETE_AND_REBUILD,
        /** 4 GiB of extra data in entry 0: the table becomes too big, all snapshots are dropped. */
        EXTRA_HUGE,
        /** v3 entries without extra data: completed with 24 bytes. */
        INCOMPLETE_NO_EXTRA,
        /** one entry with 8 bytes of extra data (vm_state_size_large only), one with 100 (76 unknown, kept). */
        INCOMPLETE_AND_UNKNOWN_EXTRA,
        /** 65536 snapshots, 65534 of them past the end of the file: the new table would overlap the old one. */
        COUNT_65536,
        /** 2^32-1 snapshots: 4294901759 discarded in the header at once, then as COUNT_65536. */
        COUNT_HUGE
    }

    @ParameterizedTest
    @EnumSource(Damage.class)
    void repairsAsQemuImg(Damage d) throws Exception {
        Qemu.assumeAvailable();
        String compat = d == Damage.EXTRA_2K_V2 ? "compat=0.10" : "compat=1.1";
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "-o", compat, "img.qcow2", "4M");
        Qemu.ioOk(dir, "img.qcow2", "write -P 1 0 64k");
        Qemu.imgOk(dir, "snapshot", "-c", "s1", "img.qcow2");
        Qemu.ioOk(dir, "img.qcow2", "write -P 2 64k 64k");
        Qemu.imgOk(dir, "snapshot", "-c", "s2", "img.qcow2");
        damage(dir.resolve("img.qcow2"), d);

        Qemu.Result q = CheckVerdicts.sameRepairOfCopies(dir).qemu();
        if (d == Damage.INCOMPLETE_AND_REBUILD) {
            assertThat(q.err()).contains("Rebuilding refcount structure", "Repairing snapshot table entry 1");
        }

        Qemu.Result qAfter = Qemu.img(dir, "check", "q.qcow2");
        Qemu.Result mAfter = Qemu.img(dir, "check", "m.qcow2");
        if (q.exitCode() == 0) {
            assertThat(mAfter.exitCode()).as(mAfter.err() + mAfter.out()).isZero();
            assertThat(mAfter.out()).isEqualTo(qAfter.out().replace("q.qcow2", "m.qcow2"));
            assertThat(Qemu.img(dir, "snapshot", "-l", "m.qcow2").out())
                    .isEqualTo(Qemu.img(dir, "snapshot", "-l", "q.qcow2").out());
            Qemu.imgOk(dir, "compare", "-q", "q.qcow2", "m.qcow2");
            // the same table at the same place, byte for byte
            assertThat(snapshotTable(dir.resolve("m.qcow2"))).isEqualTo(snapshotTable(dir.resolve("q.qcow2")));
        } else {
            // the repair failed in both (overlap with the old table, image marked corrupt); QEMU discards the
            // clusters it frees and leaks the clusters it had allocated, q2 does neither (docs/compatibility.md)
            assertThat(mAfter.exitCode()).isEqualTo(qAfter.exitCode());
        }
    }

    /** nb_snapshots, snapshots_offset and the table's first 64 KiB. */
    private static byte[] snapshotTable(Path img) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "r")) {
            byte[] b = new byte[12 + 65536];
            f.seek(60);
            f.readFully(b, 0, 12);
            long at = readLong(f, 64);
            f.seek(at);
            f.read(b, 12, (int) Math.min(65536, Math.max(0, f.length() - at)));
            return b;
        }
    }

    private static void damage(Path img, Damage d) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            long snap = readLong(f, 64);
            switch (d) {
                case EXTRA_2K, EXTRA_2K_V2 -> writeInt(f, snap + 36, 2048);
                case EXTRA_HUGE -> writeInt(f, snap + 36, 0xffffffff);
                case COUNT_65536 -> writeInt(f, 60, 65536);
                case COUNT_HUGE -> writeInt(f, 60, 0xffffffff);
                case INCOMPLETE_NO_EXTRA -> rewriteTable(f, new int[] {0, 0});
                case INCOMPLETE_AND_REBUILD -> {
                    rewriteTable(f, new int[] {0, 0});
                    long l1 = readLong(f, 40);
                    long l2 = readLong(f, l1) & 0x00fffffffffffe00L;
                    long data = readLong(f, l2) & 0x00fffffffffffe00L;
                    setRefcount(f, readLong(f, 48), 65536, 16, 4, data, 0);
                }
                case INCOMPLETE_AND_UNKNOWN_EXTRA -> rewriteTable(f, new int[] {8, 100});
            }
        }
    }

    /**
     * Writes the image's snapshot table anew at the end of the file with the given extra data sizes (known extra
     * data kept where it fits, unknown bytes 0x5a), and points the header at it; the old table leaks.
     */
    private static void rewriteTable(RandomAccessFile f, int[] extraSizes) throws IOException {
        int nb = readInt(f, 60);
        long pos = readLong(f, 64);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < nb; i++) {
            pos = (pos + 7) & ~7L;
            byte[] h = new byte[40];
            f.seek(pos);
            f.readFully(h);
            int idLen = ByteBuffer.wrap(h).getShort(12) & 0xffff;
            int nameLen = ByteBuffer.wrap(h).getShort(14) & 0xffff;
            int extra = ByteBuffer.wrap(h).getInt(36);
            byte[] x = new byte[extra];
            f.readFully(x);
            byte[] idName = new byte[idLen + nameLen];
            f.readFully(idName);
            pos += 40 + extra + idLen + nameLen;

            while (out.size() % 8 != 0) {
                out.write(0);
            }
            int newExtra = extraSizes[i];
            ByteBuffer.wrap(h).putInt(36, newExtra);
            out.write(h);
            byte[] nx = new byte[newExtra];
            java.util.Arrays.fill(nx, (byte) 0x5a);
            System.arraycopy(x, 0, nx, 0, Math.min(extra, newExtra));
            out.write(nx);
            out.write(idName);
        }
        long at = (f.length() + 0xffff) & ~0xffffL;
        f.seek(at);
        f.write(out.toByteArray());
        writeLong(f, 64, at);
    }

    private static void writeInt(RandomAccessFile f, long pos, int v) throws IOException {
        f.seek(pos);
        f.writeInt(v);
    }
}
