package dev.q2.snapshot;

import dev.q2.testutil.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The library without qemu-img: snapshots of an image q2 created and wrote, taken, applied and deleted through
 * {@link Qcow2Snapshots}, guest data read back with q2 and the image checked clean by q2 check after each step.
 */
class Qcow2SnapshotsTest {
    @TempDir
    Path dir;

    private Qcow2Snapshots open(boolean writable) throws Exception {
        return Qcow2Snapshots.open(dir.resolve("img.qcow2"), writable, false, new PrintWriter(new StringWriter()));
    }

    private void q2(String... args) {
        Cli.Result r = Cli.runIn(dir, args);
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
    }

    private String read(String pattern) {
        return Cli.runIn(dir, "io", "-r", "-c", "read -P " + pattern + " 0 64k", "img.qcow2").out();
    }

    @Test
    void createApplyDelete() throws Exception {
        q2("create", "-q", "-f", "qcow2", "-o", "cluster_size=4k", "img.qcow2", "16M");
        q2("io", "-c", "write -P 1 0 64k", "img.qcow2");
        try (Qcow2Snapshots s = open(true)) {
            assertThat(s.create("one", 1_700_000_000, 123_000)).isEqualTo("1");
            assertThat(s.create("one", 1_700_000_001, 0)).isEqualTo("2"); // names need not be unique
        }
        q2("check", "img.qcow2");
        q2("io", "-c", "write -P 2 0 64k", "img.qcow2"); // copy on write: the snapshots keep pattern 1
        q2("check", "img.qcow2");
        try (Qcow2Snapshots s = open(false)) {
            List<SnapshotInfo> list = s.list();
            assertThat(list).extracting(SnapshotInfo::id).containsExactly("1", "2");
            assertThat(list.get(0)).isEqualTo(new SnapshotInfo("1", "one", 0, 1_700_000_000, 123_000, 0, 0));
        }
        assertThat(read("2")).doesNotContain("Pattern verification failed");
        try (Qcow2Snapshots s = open(true)) {
            s.apply("1");
        }
        q2("check", "img.qcow2");
        assertThat(read("1")).doesNotContain("Pattern verification failed");
        try (Qcow2Snapshots s = open(true)) {
            s.delete("one"); // the first with that name
            assertThat(s.list()).extracting(SnapshotInfo::id).containsExactly("2");
            assertThatThrownBy(() -> s.delete("2")).isInstanceOf(SnapshotException.class)
                    .hasMessage("snapshot not found"); // by name only, as qemu-img
            assertThatThrownBy(() -> s.apply("nope")).isInstanceOf(SnapshotException.class)
                    .hasMessage("Failed to load snapshot: No such file or directory");
            s.delete("one");
            assertThat(s.list()).isEmpty();
        }
        q2("check", "img.qcow2");
        assertThat(read("1")).doesNotContain("Pattern verification failed");
    }

    @Test
    void refcountOverflowIsRefusedAsQemuRefusesIt() throws Exception {
        q2("create", "-q", "-f", "qcow2", "-o", "refcount_bits=1", "img.qcow2", "16M");
        try (Qcow2Snapshots s = open(true)) {
            assertThat(s.create("empty", 0, 0)).isEqualTo("1"); // nothing allocated yet: nothing to count twice
        }
        q2("io", "-c", "write -P 1 0 64k", "img.qcow2");
        try (Qcow2Snapshots s = open(true)) {
            assertThatThrownBy(() -> s.create("full", 0, 0)).isInstanceOf(SnapshotException.class)
                    .extracting(e -> ((SnapshotException) e).errno()).isEqualTo(SnapshotException.Errno.EINVAL);
        }
    }

    @Test
    void strtoulAsGlibc() {
        assertThat(Qcow2Snapshots.strtoul("12")).isEqualTo(12);
        assertThat(Qcow2Snapshots.strtoul(" 7x")).isEqualTo(7);
        assertThat(Qcow2Snapshots.strtoul("abc")).isZero();
        assertThat(Qcow2Snapshots.strtoul("-1")).isEqualTo(-1L);
        assertThat(Qcow2Snapshots.strtoul("99999999999999999999")).isEqualTo(-1L); // ULONG_MAX
        assertThat(Long.toUnsignedString(Qcow2Snapshots.strtoul("18446744073709551615") + 1)).isEqualTo("0");
    }
}
