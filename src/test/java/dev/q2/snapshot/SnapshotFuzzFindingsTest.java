package dev.q2.snapshot;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bugs SnapshotFuzzTest found, pinned against qemu-img (the fuzz inputs themselves stay in
 * SnapshotFuzzTestInputs/snapshot as regression inputs).
 */
@Tag("qemu")
class SnapshotFuzzFindingsTest {
    @TempDir
    Path dir;

    /**
     * A refcount table entry with its top bits set names a refcount block at an offset QEMU's block layer refuses
     * (negative as int64): snapshot -c fails with EIO, as qemu-img's, and leaves the same file. q2 threw the JDK's
     * IllegalArgumentException ("Negative position").
     */
    @Test
    void refcountBlockAtANegativeOffset() throws Exception {
        Qemu.assumeAvailable();
        assertThat(Qemu.img(dir, "create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", "a.qcow2", "1M")
                .exitCode()).isZero();
        assertThat(Qemu.io(dir, "-c", "write -P 1 0 8k", "a.qcow2").exitCode()).isZero();
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("a.qcow2").toFile(), "rw")) {
            f.seek(48);
            long reftable = f.readLong();
            f.seek(reftable);
            long entry = f.readLong();
            f.seek(reftable);
            f.writeLong(entry | 0xff00000000000000L);
        }
        Files.copy(dir.resolve("a.qcow2"), dir.resolve("b.qcow2"));
        Qemu.Result qemu = Qemu.img(dir, "snapshot", "-c", "x", "a.qcow2");
        Cli.Result q2 = Cli.runIn(dir, "snapshot", "-c", "x", "b.qcow2");
        assertThat(qemu.err()).isEqualTo("qemu-img: Could not create snapshot 'x': -5 (Input/output error)\n");
        assertThat(q2.err()).isEqualTo("q2: Could not create snapshot 'x': -5 (Input/output error)\n");
        assertThat(q2.exitCode()).isEqualTo(qemu.exitCode()).isEqualTo(1);
        assertThat(Files.readAllBytes(dir.resolve("b.qcow2"))).isEqualTo(Files.readAllBytes(dir.resolve("a.qcow2")));
    }
}
