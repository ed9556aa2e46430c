package dev.q2.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.q2.snapshot.Qcow2Snapshots;
import dev.q2.snapshot.SnapshotInfo;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;

/**
 * Fuzzes the snapshot table reader and qemu-img snapshot's operations on a hostile image (the seeds of
 * {@link FuzzImage}, snap.qcow2 among them): list read-only, then, each on a fresh open as the command does, apply
 * the image's first snapshot, delete its last one, and create one. Only q2's own exceptions may escape.
 */
class SnapshotFuzzTest {
    @FuzzTest(maxDuration = "5m")
    void snapshot(byte[] input) throws Exception {
        if (FuzzImage.writeWithFreshShared(input)) { // a data-file seed writes into data.raw
            run(FuzzImage.dir().resolve("img.qcow2"));
        }
    }

    private static void run(Path img) throws Exception {
        PrintWriter diagnostics = new PrintWriter(new StringWriter());
        String[] names = new String[2];
        Q2Errors.expect(() -> {
            try (Qcow2Snapshots s = Qcow2Snapshots.open(img, false, true, FuzzImage.dir(), diagnostics)) {
                List<SnapshotInfo> list = s.list();
                if (!list.isEmpty()) {
                    names[0] = list.get(0).id();
                    names[1] = list.get(list.size() - 1).name();
                }
            }
        });
        if (names[0] != null) {
            Q2Errors.expect(() -> {
                try (Qcow2Snapshots s = Qcow2Snapshots.open(img, true, false, FuzzImage.dir(), diagnostics)) {
                    s.apply(names[0]);
                }
            });
            Q2Errors.expect(() -> {
                try (Qcow2Snapshots s = Qcow2Snapshots.open(img, true, false, FuzzImage.dir(), diagnostics)) {
                    s.delete(names[1]);
                }
            });
        }
        Q2Errors.expect(() -> {
            try (Qcow2Snapshots s = Qcow2Snapshots.open(img, true, false, FuzzImage.dir(), diagnostics)) {
                s.create("fuzz", 1_700_000_000L, 0);
            }
        });
    }
}
