package dev.q2.check;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import static dev.q2.check.CheckDifferentialTest.readLong;
import static dev.q2.check.CheckDifferentialTest.writeLong;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A dirty image (lazy refcounts in use when it was last closed) opened for writing is checked and repaired first,
 * as QEMU's qcow2_do_open does (iotest 098): q2 io prints what qemu-io prints (the check's messages), exits alike,
 * and leaves an image that qemu-img checks and compares the same; opened read-only it is not repaired.
 */
@Tag("qemu")
class DirtyOpenRepairDifferentialTest {
    @TempDir
    Path dir;

    enum Dirt { NOTHING_WRONG, LEAK, REFCOUNT_ZERO_NEEDS_REBUILD, READ_ONLY_OPEN, ALSO_CORRUPT }

    @ParameterizedTest
    @EnumSource(Dirt.class)
    void repairedOnReadWriteOpenAsByQemuIo(Dirt d) throws Exception {
        Qemu.assumeAvailable();
        assertThat(Qemu.img(dir, "create", "-q", "-f", "qcow2", "-o", "lazy_refcounts=on", "img.qcow2", "4M")
                .exitCode()).isZero();
        assertThat(Qemu.io(dir, "-c", "write -P 1 0 128k", "img.qcow2").exitCode()).isZero();
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("img.qcow2").toFile(), "rw")) {
            long incompat = readLong(f, 72) | 1; // dirty
            if (d == Dirt.ALSO_CORRUPT) {
                incompat |= 2;
            }
            writeLong(f, 72, incompat);
            long block = readLong(f, readLong(f, 48));
            if (d == Dirt.LEAK || d == Dirt.REFCOUNT_ZERO_NEEDS_REBUILD) {
                f.seek(block + 2 * 5);
                f.writeShort(2); // data cluster 5: one reference, refcount 2
            }
            if (d == Dirt.REFCOUNT_ZERO_NEEDS_REBUILD) {
                f.seek(block + 2 * 6);
                f.writeShort(0);
            }
        }
        Files.copy(dir.resolve("img.qcow2"), dir.resolve("q.qcow2"), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(dir.resolve("img.qcow2"), dir.resolve("m.qcow2"), StandardCopyOption.REPLACE_EXISTING);
        String[] flags = d == Dirt.READ_ONLY_OPEN ? new String[] {"-r"} : new String[0];
        String cmd = d == Dirt.READ_ONLY_OPEN ? "read -P 1 0 64k" : "write -P 2 0 64k";
        Qemu.Result q = Qemu.io(dir, concat(flags, "-c", cmd, "q.qcow2"));
        Cli.Result m = Cli.runIn(dir, concat(new String[] {"io"}, concat(flags, "-c", cmd, "m.qcow2")));
        assertThat(m.err()).isEqualTo(q.err().replace("qemu-io: ", "q2: ").replace("q.qcow2", "m.qcow2"));
        assertThat(m.exitCode()).isEqualTo(q.exitCode());
        Qemu.Result qc = Qemu.img(dir, "check", "--output=json", "q.qcow2");
        Qemu.Result mc = Qemu.img(dir, "check", "--output=json", "m.qcow2");
        assertThat(mc.out().replace("m.qcow2", "q.qcow2")).isEqualTo(qc.out());
        assertThat(mc.exitCode()).isEqualTo(qc.exitCode());
        assertThat(Qemu.img(dir, "compare", "-U", "q.qcow2", "m.qcow2").exitCode()).isZero();
        try (RandomAccessFile a = new RandomAccessFile(dir.resolve("q.qcow2").toFile(), "r");
             RandomAccessFile b = new RandomAccessFile(dir.resolve("m.qcow2").toFile(), "r")) {
            assertThat(readLong(b, 72)).as("incompatible features").isEqualTo(readLong(a, 72));
            assertThat(readLong(b, 48)).as("refcount table offset").isEqualTo(readLong(a, 48));
            assertThat(b.length()).isEqualTo(a.length());
        }
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = new String[a.length + b.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
