package dev.q2.check;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import static dev.q2.check.CheckDifferentialTest.readLong;
import static dev.q2.check.CheckDifferentialTest.writeLong;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A refcount table entry pointing where the file cannot be read or grown: bit 63 set (the block layer refuses the
 * read, -EIO; the truncate, -EINVAL), past QEMU's BDRV_MAX_LENGTH (refused read; truncate "offset(N) exceeds
 * maximum(M)"), past what the file system allows (reads zeros; truncate "File too large" on ext4, which qemu-img
 * prints as its own error) and far out but reachable (the file grows sparsely). q2 check answers as qemu-img check,
 * without -r, with -r leaks and with -r all, in both output formats; after -r all both images pass a check alike and
 * hold the same bytes, except the old refcount table's cluster, which QEMU discards when it frees it.
 */
@Tag("qemu")
class CheckRefblockOutsideDifferentialTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "refcount table entry 0 = {0}")
    @ValueSource(strings = {"8000000000020000", "8000000000000000", "7fffffffffff0000", "7fffffffc0000000",
        "7fffffffbfff0000", "00ff000000000000", "0000200000000000", "0000001000000000"})
    void sameAsQemuImg(String entryHex) throws Exception {
        Qemu.assumeAvailable();
        long entry = Long.parseUnsignedLong(entryHex, 16);
        assertThat(Qemu.img(dir, "create", "-q", "-f", "qcow2", "img.qcow2", "64M").exitCode()).isZero();
        assertThat(Qemu.io(dir, "-c", "write -P 1 0 1M", "img.qcow2").exitCode()).isZero();
        long reftable;
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("img.qcow2").toFile(), "rw")) {
            reftable = readLong(f, 48);
            writeLong(f, reftable, entry);
        }
        for (String[] mode : new String[][] {{}, {"-r", "leaks"}, {"-r", "all"}}) {
            for (String output : new String[] {"human", "json"}) {
                Files.copy(dir.resolve("img.qcow2"), dir.resolve("q.qcow2"), StandardCopyOption.REPLACE_EXISTING);
                Files.copy(dir.resolve("img.qcow2"), dir.resolve("m.qcow2"), StandardCopyOption.REPLACE_EXISTING);
                Qemu.Result q = Qemu.img(dir, args(mode, output, "q.qcow2"));
                Cli.Result m = Cli.runIn(dir, args(mode, output, "m.qcow2"));
                String what = String.join(" ", mode) + " " + output;
                assertThat(m.err()).as(what).isEqualTo(q.err().replace("qemu-img: ", "q2: ").replace("q.qcow2", "m.qcow2"));
                assertThat(m.out()).as(what).isEqualTo(q.out().replace("q.qcow2", "m.qcow2"));
                assertThat(m.exitCode()).as(what).isEqualTo(q.exitCode());
                Qemu.Result qAfter = Qemu.img(dir, "check", "--output=json", "q.qcow2");
                Qemu.Result mAfter = Qemu.img(dir, "check", "--output=json", "m.qcow2");
                assertThat(mAfter.out().replace("m.qcow2", "q.qcow2")).as(what).isEqualTo(qAfter.out());
                assertThat(mAfter.exitCode()).as(what).isEqualTo(qAfter.exitCode());
                if (mode.length == 0) {
                    assertThat(Files.mismatch(dir.resolve("m.qcow2"), dir.resolve("img.qcow2"))).isEqualTo(-1L);
                } else {
                    assertSameOutside(dir.resolve("q.qcow2"), dir.resolve("m.qcow2"), reftable, 65536);
                }
            }
        }
    }

    /**
     * Snapshot metadata at offsets the block layer refuses to read (bit 63 set, past BDRV_MAX_LENGTH): the snapshot
     * L1 table fails the check (`ERROR: I/O error in check_refcounts_l1`), the snapshot table fails it and every
     * open (`Failed to read snapshot table: Input/output error`); a misaligned one is `Snapshot table offset
     * invalid`. check, check -r all, map and convert answer as qemu-img does.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"l1=8000000000030000", "l1=7fffffffc0000000", "table=8000000000030000",
        "table=7ffffffff0000000", "table=0000000000030008"})
    void snapshotMetadataTheBlockLayerCannotRead(String patch) throws Exception {
        Qemu.assumeAvailable();
        assertThat(Qemu.img(dir, "create", "-q", "-f", "qcow2", "img.qcow2", "4M").exitCode()).isZero();
        assertThat(Qemu.io(dir, "-c", "write -P 1 0 64k", "img.qcow2").exitCode()).isZero();
        assertThat(Qemu.img(dir, "snapshot", "-c", "s1", "img.qcow2").exitCode()).isZero();
        long value = Long.parseUnsignedLong(patch.substring(patch.indexOf('=') + 1), 16);
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("img.qcow2").toFile(), "rw")) {
            writeLong(f, patch.startsWith("l1=") ? readLong(f, 64) : 64, value);
        }
        for (String[] c : new String[][] {{"check"}, {"check", "-r", "all"}, {"map", "--output=json"},
            {"convert", "-O", "raw"}}) {
            Files.copy(dir.resolve("img.qcow2"), dir.resolve("q.qcow2"), StandardCopyOption.REPLACE_EXISTING);
            Files.copy(dir.resolve("img.qcow2"), dir.resolve("m.qcow2"), StandardCopyOption.REPLACE_EXISTING);
            boolean convert = c[0].equals("convert");
            String[] q = java.util.Arrays.copyOf(c, c.length + (convert ? 2 : 1));
            String[] m = q.clone();
            q[c.length] = "q.qcow2";
            m[c.length] = "m.qcow2";
            if (convert) {
                q[c.length + 1] = "q.raw";
                m[c.length + 1] = "m.raw";
            }
            Qemu.Result qr = Qemu.img(dir, q);
            Cli.Result mr = Cli.runIn(dir, m);
            String what = patch + ": " + String.join(" ", c);
            assertThat(mr.err()).as(what).isEqualTo(qr.err().replace("qemu-img: ", "q2: ").replace("q.qcow2", "m.qcow2"));
            assertThat(mr.out()).as(what).isEqualTo(qr.out().replace("q.qcow2", "m.qcow2"));
            assertThat(mr.exitCode()).as(what).isEqualTo(qr.exitCode());
        }
    }

    private static String[] args(String[] mode, String output, String file) {
        String[] a = new String[mode.length + 3];
        a[0] = "check";
        System.arraycopy(mode, 0, a, 1, mode.length);
        a[mode.length + 1] = "--output=" + output;
        a[mode.length + 2] = file;
        return a;
    }

    /** Same length and bytes, except in [skip, skip + length) (the old refcount table, freed). */
    static void assertSameOutside(Path a, Path b, long skip, int length) throws Exception {
        try (RandomAccessFile fa = new RandomAccessFile(a.toFile(), "r");
             RandomAccessFile fb = new RandomAccessFile(b.toFile(), "r")) {
            assertThat(fb.length()).isEqualTo(fa.length());
            if (fa.length() > (1L << 30)) {
                return; // a sparse giant: the check results above already compare what matters
            }
            byte[] x = new byte[65536];
            byte[] y = new byte[65536];
            for (long pos = 0; pos < fa.length(); pos += x.length) {
                int n = (int) Math.min(x.length, fa.length() - pos);
                fa.seek(pos);
                fa.readFully(x, 0, n);
                fb.seek(pos);
                fb.readFully(y, 0, n);
                for (int i = 0; i < n; i++) {
                    long at = pos + i;
                    if (x[i] != y[i] && (at < skip || at >= skip + length)) {
                        throw new AssertionError("byte " + at + " differs: " + x[i] + " vs " + y[i]);
                    }
                }
            }
        }
    }
}
