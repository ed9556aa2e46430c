package dev.q2.check;

import dev.q2.check.CheckMessage.Severity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The check as one library call: results, listener events, repair of a copy, and the open failures. */
class ImageCheckerTest {
    @TempDir
    Path dir;

    /** Everything a listener hears, as strings in order. */
    static final class Recorder implements CheckListener {
        final List<String> events = new ArrayList<>();
        final List<CheckMessage> messages = new ArrayList<>();
        final List<CheckResult> repairs = new ArrayList<>();
        long lastDone;
        long lastTotal;

        @Override
        public void message(CheckMessage m) {
            messages.add(m);
            events.add("message " + m.severity() + " " + m.text());
        }

        @Override
        public void phase(CheckPhase phase, boolean recheck) {
            events.add("phase " + phase + (recheck ? " recheck" : ""));
        }

        @Override
        public void progress(CheckPhase phase, long done, long total) {
            assertThat(phase).isEqualTo(CheckPhase.REFERENCES);
            assertThat(done).isBetween(1L, total);
            lastDone = done;
            lastTotal = total;
        }

        @Override
        public void repaired(CheckResult r) {
            repairs.add(r);
            events.add("repaired");
        }
    }

    @Test
    void cleanImageReportsItsPhasesAndNoMessage() throws IOException {
        Path img = CheckImages.clean(dir, "img.qcow2");
        Recorder rec = new Recorder();
        CheckReport report = ImageChecker.check(img, CheckOptions.defaults(), rec);

        assertThat(report.format()).isEqualTo("qcow2");
        assertThat(report.repaired()).isFalse();
        assertThat(report.repairs()).isNull();
        CheckResult r = report.result();
        assertThat(r.isClean()).isTrue();
        assertThat(r.totalClusters()).isEqualTo(16);
        assertThat(r.allocatedClusters()).isEqualTo(1);
        assertThat(r.imageEndOffset()).isEqualTo(6 * CheckImages.CLUSTER);
        assertThat(rec.events).containsExactly("phase SNAPSHOT_TABLE", "phase REFERENCES", "phase COMPARE",
                "phase OFLAG_COPIED");
        assertThat(rec.lastDone).isEqualTo(1); // one active L1 entry
        assertThat(rec.lastTotal).isEqualTo(1);
    }

    @Test
    void readOnlyCheckReportsALeakAndChangesNothing() throws IOException {
        Path img = CheckImages.leaked(dir, "img.qcow2");
        byte[] before = Files.readAllBytes(img);
        Recorder rec = new Recorder();
        CheckResult r = ImageChecker.check(img, CheckOptions.defaults(), rec).result();

        assertThat(r.leaks()).isEqualTo(1);
        assertThat(r.corruptions()).isZero();
        assertThat(r.leaksFixed()).isZero();
        assertThat(rec.messages).containsExactly(
                new CheckMessage(Severity.LEAK, false, "Leaked cluster 6 refcount=1 reference=0"));
        assertThat(Files.readAllBytes(img)).isEqualTo(before);
    }

    @Test
    void repairingACopyFreesTheLeakThenRechecks() throws IOException {
        Path original = CheckImages.leaked(dir, "img.qcow2");
        byte[] before = Files.readAllBytes(original);
        Path copy = Files.copy(original, dir.resolve("copy.qcow2"));
        Recorder rec = new Recorder();
        CheckReport report = ImageChecker.check(copy, CheckOptions.defaults().withMode(CheckMode.LEAKS), rec);

        assertThat(report.repaired()).isTrue();
        assertThat(report.repairs().leaksFixed()).isEqualTo(1);
        assertThat(report.result().isClean()).isTrue();
        assertThat(report.result().leaksFixed()).isEqualTo(1); // as qemu-img prints it after the re-check
        assertThat(rec.repairs).containsExactly(report.repairs());
        assertThat(rec.events).containsExactly("phase SNAPSHOT_TABLE", "phase REFERENCES", "phase COMPARE",
                "message LEAK Leaked cluster 6 refcount=1 reference=0", // the comparison, then its repair
                "message REPAIR Repairing cluster 6 refcount=1 reference=0", "phase OFLAG_COPIED", "repaired",
                "phase SNAPSHOT_TABLE recheck", "phase REFERENCES recheck", "phase COMPARE recheck",
                "phase OFLAG_COPIED recheck");
        assertThat(Files.readAllBytes(original)).isEqualTo(before);
        assertThat(ImageChecker.check(copy, CheckOptions.defaults()).result().isClean()).isTrue();
    }

    @Test
    void oflagCopiedCorruptionIsReportedThenRepairedWithAll() throws IOException {
        Path img = CheckImages.copiedFlagCleared(dir, "img.qcow2");
        Recorder rec = new Recorder();
        CheckResult r = ImageChecker.check(img, CheckOptions.defaults(), rec).result();
        assertThat(r.corruptions()).isEqualTo(1);
        assertThat(rec.messages).extracting(CheckMessage::severity).containsExactly(Severity.CORRUPTION);
        assertThat(rec.messages.get(0).text()).isEqualTo("ERROR OFLAG_COPIED data cluster: l2_entry=50000 refcount=1");

        Recorder repair = new Recorder();
        CheckReport fixed = ImageChecker.check(img, CheckOptions.defaults().withMode(CheckMode.ALL), repair);
        assertThat(fixed.repairs().corruptionsFixed()).isEqualTo(1);
        assertThat(fixed.result().isClean()).isTrue();
        assertThat(repair.messages).containsExactly(new CheckMessage(Severity.REPAIR, false,
                "Repairing OFLAG_COPIED data cluster: l2_entry=50000 refcount=1"));
    }

    @Test
    void aCheckThatCannotCompleteThrowsWithTheReasonAfterItsMessages() throws IOException {
        Path img = CheckImages.clean(dir, "img.qcow2");
        try (var f = new java.io.RandomAccessFile(img.toFile(), "rw")) {
            f.seek(60);
            f.writeInt(70000); // nb_snapshots past QEMU's 65536
        }
        Recorder rec = new Recorder();
        assertThatThrownBy(() -> ImageChecker.check(img, CheckOptions.defaults(), rec))
                .isInstanceOfSatisfying(CheckFailedException.class, e -> {
                    assertThat(e.reason()).isEqualTo("File too large");
                    assertThat(e.getMessage()).isEqualTo("Check failed: File too large");
                });
        assertThat(rec.messages).containsExactly(
                new CheckMessage(Severity.CHECK_ERROR, true, "ERROR snapshot table too large"),
                new CheckMessage(Severity.CHECK_ERROR, false,
                        "You can force-remove all 4464 overhanging snapshots with qemu-img check -r all"));
    }

    @Test
    void openFailuresNameTheirStage() throws IOException {
        assertThatThrownBy(() -> ImageChecker.check(dir.resolve("missing.qcow2"), CheckOptions.defaults()))
                .isInstanceOfSatisfying(CheckOpenException.class,
                        e -> assertThat(e.stage()).isEqualTo(CheckOpenException.Stage.FILE));
        assertThatThrownBy(() -> ImageChecker.check(dir, CheckOptions.defaults()))
                .isInstanceOfSatisfying(CheckOpenException.class,
                        e -> assertThat(e.stage()).isEqualTo(CheckOpenException.Stage.FILE));

        Path raw = Files.write(dir.resolve("disk.raw"), new byte[4096]);
        assertThatThrownBy(() -> ImageChecker.check(raw, CheckOptions.defaults()))
                .isInstanceOfSatisfying(CheckOpenException.class, e -> {
                    assertThat(e.stage()).isEqualTo(CheckOpenException.Stage.NOT_CHECKABLE);
                    assertThat(e.getMessage()).isEqualTo("This image format does not support checks");
                });

        Path img = CheckImages.clean(dir, "img.qcow2");
        assertThatThrownBy(() -> ImageChecker.check(img,
                CheckOptions.defaults().withMode(CheckMode.LEAKS).withForceShare(true).withDisplayName("x")))
                .isInstanceOfSatisfying(CheckOpenException.class, e -> {
                    assertThat(e.stage()).isEqualTo(CheckOpenException.Stage.REQUEST);
                    assertThat(e.getMessage())
                            .isEqualTo("Could not open 'x': force-share=on can only be used with read-only images");
                });
        assertThatThrownBy(() -> ImageChecker.check(img, CheckOptions.defaults().withFormat("nosuch")))
                .isInstanceOfSatisfying(CheckOpenException.class,
                        e -> assertThat(e.getMessage()).endsWith("Unknown driver 'nosuch'"));
    }

    @Test
    void aMissingBackingFileFailsTheOpenAsQemuImgDoes() throws IOException {
        CheckImages.clean(dir, "base.qcow2");
        assertThat(dev.q2.testutil.Cli.runIn(dir, "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2",
                "top.qcow2").exitCode()).isZero();
        // a relative image name against the working directory, its backing name against the image's folder
        assertThat(ImageChecker.check(Path.of("top.qcow2"), CheckOptions.defaults().withWorkingDirectory(dir))
                .result().isClean()).isTrue();
        Files.delete(dir.resolve("base.qcow2"));
        assertThatThrownBy(() -> ImageChecker.check(dir.resolve("top.qcow2"),
                CheckOptions.defaults().withWorkingDirectory(dir).withDisplayName("top.qcow2")))
                .isInstanceOfSatisfying(CheckOpenException.class,
                        e -> assertThat(e.stage()).isEqualTo(CheckOpenException.Stage.BACKING));
    }
}
