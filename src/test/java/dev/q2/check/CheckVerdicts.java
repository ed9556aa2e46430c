package dev.q2.check;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiPredicate;

import static org.assertj.core.api.Assertions.assertThat;

/** The check differential tests' cases and verdict: qemu-img check and q2 check on the same damaged image. */
final class CheckVerdicts {
    private CheckVerdicts() {
    }

    /** Every (configuration, damage) pair that {@code applies} accepts, as parameterized-test arguments. */
    static <C, D> List<Object[]> pairs(List<C> configs, D[] damages, BiPredicate<C, D> applies) {
        List<Object[]> out = new ArrayList<>();
        for (C c : configs) {
            for (D d : damages) {
                if (applies.test(c, d)) {
                    out.add(new Object[] {c, d});
                }
            }
        }
        return out;
    }

    /**
     * img.qcow2 in {@code dir}, checked by both tools: the same exit code, JSON and stderr; then repaired with -r all
     * by q2 and, on a copy (theirs.qcow2), by qemu-img: the same exit code and stdout, and stderr too when
     * {@code repairStderr} (but for the failures to free old bitmap clusters QEMU reports when it rewrites persistent
     * bitmaps on close; q2 leaves bitmaps alone: docs/compatibility.md); where qemu-img's repair succeeded, q2's
     * result is clean for qemu-img check and has qemu-img's repair's guest data.
     */
    static void sameVerdictAndRepair(Path dir, boolean repairStderr) throws IOException {
        Qemu.Result q = Qemu.img(dir, "check", "--output=json", "img.qcow2");
        Cli.Result mine = Cli.runIn(dir, "check", "--output=json", "img.qcow2");
        assertThat(mine.err()).isEqualTo(q.err().replace("qemu-img: ", "q2: "));
        assertThat(mine.out()).isEqualTo(q.out());
        assertThat(mine.exitCode()).as(mine.err()).isEqualTo(q.exitCode());

        Files.copy(dir.resolve("img.qcow2"), dir.resolve("theirs.qcow2"), StandardCopyOption.REPLACE_EXISTING);
        Qemu.Result qr = Qemu.img(dir, "check", "-r", "all", "theirs.qcow2");
        Cli.Result mr = Cli.runIn(dir, "check", "-r", "all", "img.qcow2");
        if (repairStderr) {
            String theirErr = qr.err().replace("qemu-img: ", "q2: ").replace("theirs.qcow2", "img.qcow2")
                    .replace("qcow2_free_clusters failed: Invalid argument\n", "");
            assertThat(mr.err()).isEqualTo(theirErr);
        }
        assertThat(mr.out()).isEqualTo(qr.out().replace("theirs.qcow2", "img.qcow2"));
        assertThat(mr.exitCode()).as(mr.err()).isEqualTo(qr.exitCode());
        if (qr.exitCode() == 0) {
            Qemu.Result after = Qemu.img(dir, "check", "img.qcow2");
            assertThat(after.exitCode()).as(after.out() + after.err()).isZero();
            Qemu.Result cmp = Qemu.img(dir, "compare", "img.qcow2", "theirs.qcow2");
            assertThat(cmp.exitCode()).as(cmp.out() + cmp.err()).isZero();
        }
    }

    /** qemu-img's result and the time q2 took, of a repair of copies. */
    record Repair(Qemu.Result qemu, long q2Millis) {
    }

    /**
     * img.qcow2 in {@code dir} copied to q.qcow2 and m.qcow2, repaired with check -r all by qemu-img and by q2: the
     * same stderr (but for the program's name), stdout and exit code, each image's name for the other's.
     */
    static Repair sameRepairOfCopies(Path dir) throws IOException {
        Files.copy(dir.resolve("img.qcow2"), dir.resolve("q.qcow2"), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(dir.resolve("img.qcow2"), dir.resolve("m.qcow2"), StandardCopyOption.REPLACE_EXISTING);
        Qemu.Result q = Qemu.img(dir, "check", "-r", "all", "q.qcow2");
        long t0 = System.nanoTime();
        Cli.Result mine = Cli.runIn(dir, "check", "-r", "all", "m.qcow2");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(mine.err()).isEqualTo(q.err().replace("qemu-img: ", "q2: ").replace("q.qcow2", "m.qcow2"));
        assertThat(mine.out()).isEqualTo(q.out().replace("q.qcow2", "m.qcow2"));
        assertThat(mine.exitCode()).isEqualTo(q.exitCode());
        return new Repair(q, ms);
    }
}
