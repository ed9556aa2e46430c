package dev.q2.guestio;

import dev.q2.testutil.IoComparison;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * qcow2's overlap-check options in q2 io's open against qemu-io 7.2: the values QEMU accepts (none, constant,
 * cached, all, the template, a boolean per structure) and its refusals; with the inactive-L2 check on an image whose
 * snapshot names an L1 table QEMU cannot read (iotest 080), every write fails with the validation's errno, nothing
 * is written, and the close reports the refcount cache QEMU could not flush.
 */
@Tag("qemu")
class OverlapCheckDifferentialTest {
    @TempDir
    Path dir;

    @Test
    void optionValues() throws Exception {
        Qemu.assumeAvailable();
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "a.qcow2", "1M");
        for (String o : new String[] {"overlap-check=none", "overlap-check=constant", "overlap-check=cached",
            "overlap-check=all", "overlap-check.template=all", "overlap-check=all,overlap-check.template=all",
            "overlap-check=none,overlap-check.template=all", "overlap-check=foo", "overlap-check.template=bar",
            "overlap-check.inactive-l2=on", "overlap-check.inactive-l2=maybe", "overlap-check.foo=on",
            "overlap-check=all,overlap-check.active-l1=off,overlap-check.bitmap-directory=off"}) {
            IoComparison.same(dir, "-c", "open -o " + o + " a.qcow2", "-c", "write -P 3 0 4k", "-c", "read -P 3 0 4k");
        }
    }

    @Test
    void unreadableSnapshotL1FailsEveryWrite() throws Exception {
        Qemu.assumeAvailable();
        // (080's two cases: an L1 table offset that is not cluster aligned, EINVAL; one too large, EFBIG)
        long[][] pokes = {{0, 0x400200L, 8}, {8, 0x10000000L, 4}};
        for (long[] poke : pokes) {
            for (String f : new String[] {"q.qcow2", "m.qcow2"}) {
                Files.deleteIfExists(dir.resolve(f));
                Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", f, "64M");
                Qemu.ioOk(dir, f, "write 0 512");
                Qemu.imgOk(dir, "snapshot", "-c", "test", f);
                try (RandomAccessFile raf = new RandomAccessFile(dir.resolve(f).toFile(), "rw")) {
                    raf.seek(64);
                    long table = raf.readLong();
                    raf.seek(table + poke[0]);
                    if (poke[2] == 8) {
                        raf.writeLong(poke[1]);
                    } else {
                        raf.writeInt((int) poke[1]);
                    }
                }
            }
            byte[] before = Files.readAllBytes(dir.resolve("m.qcow2"));
            for (String o : new String[] {"overlap-check.inactive-l2=on", "overlap-check=all"}) {
                Qemu.Result q = Qemu.io(dir, "-c", "open -o " + o + " q.qcow2", "-c", "write 0 4k", "-c",
                        "write -z 64k 4k", "-c", "read 0 512");
                dev.q2.testutil.Cli.Result m = dev.q2.testutil.Cli.runIn(dir, "io", "-c", "open -o " + o + " m.qcow2",
                        "-c", "write 0 4k", "-c", "write -z 64k 4k", "-c", "read 0 512");
                assertThat(m.exitCode()).isEqualTo(q.exitCode()).isEqualTo(1);
                assertThat(m.out().replaceAll("ops; .*", "")).isEqualTo(q.out().replaceAll("ops; .*", ""));
                assertThat(m.err().replace("q2: ", "")).isEqualTo(q.err().replace("qemu-io: ", ""));
            }
            assertThat(Files.readAllBytes(dir.resolve("m.qcow2"))).isEqualTo(before);
        }
    }
}
