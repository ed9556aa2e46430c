package dev.q2.check;

import dev.q2.check.CheckMessage.Severity;
import dev.q2.image.Qcow2Metadata;
import dev.q2.io.ImageFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The phases of one check pass, one at a time, on small images made in-process. */
class CheckPhasesTest {
    @TempDir
    Path dir;

    private final List<CheckMessage> messages = new ArrayList<>();
    private final CheckListener listener = new CheckListener() {
        @Override
        public void message(CheckMessage m) {
            messages.add(m);
        }
    };

    /** A context as RefcountCheck prepares it, before the walk. */
    private CheckContext context(ImageFile f, CheckMode mode) throws IOException {
        Qcow2Metadata image = Qcow2Metadata.loadForCheck(f);
        CheckContext c = new CheckContext(image, mode, new CheckSession(), listener);
        c.fileLength = f.size();
        c.counts = new ReferenceCounts(c.sizeToClusters(c.fileLength), c.refcountMax);
        return c;
    }

    /** The context after the reference walk (OFLAG_COPIED findings not collected). */
    private CheckContext walked(ImageFile f, CheckMode mode) throws IOException {
        CheckContext c = context(f, mode);
        new ReferenceWalk(c, null).run(mode);
        return c;
    }

    /** The context after the walk and the comparison of the counted references with the stored refcounts. */
    private CheckContext compared(ImageFile f, CheckMode mode) throws IOException {
        CheckContext c = walked(f, mode);
        new RefcountComparison(c).run(mode);
        return c;
    }

    @Test
    void referenceWalkCountsEveryMetadataAndDataCluster() throws Exception {
        Path img = CheckImages.clean(dir, "img.qcow2");
        try (ImageFile f = ImageFile.openReadOnly(img)) {
            CheckContext c = walked(f, CheckMode.NONE);
            // header, refcount table, refcount block, L1, L2, data: each referenced once
            for (long k = 0; k < 6; k++) {
                assertThat(c.counts.get(k)).as("cluster %d", k).isEqualTo(1);
            }
            assertThat(c.res.allocatedClusters).isEqualTo(1);
            assertThat(c.res.fragmentedClusters).isZero();
            assertThat(c.res.corruptions).isZero();
            assertThat(c.rebuild).isFalse();
            assertThat(messages).isEmpty();
        }
    }

    @Test
    void comparisonFindsTheLeakAndTheImageEnd() throws Exception {
        Path img = CheckImages.leaked(dir, "img.qcow2");
        try (ImageFile f = ImageFile.openReadOnly(img)) {
            CheckContext c = compared(f, CheckMode.NONE);
            assertThat(c.res.leaks).isEqualTo(1);
            assertThat(c.res.leaksFixed).isZero();
            assertThat(c.highestCluster).isEqualTo(6);
            assertThat(messages).containsExactly(
                    new CheckMessage(Severity.LEAK, false, "Leaked cluster 6 refcount=1 reference=0"));
        }
    }

    @Test
    void comparisonWithLeakRepairStoresTheCountedReference() throws Exception {
        Path img = CheckImages.leaked(dir, "img.qcow2");
        try (ImageFile f = ImageFile.openReadWrite(img)) {
            CheckContext c = compared(f, CheckMode.LEAKS);
            assertThat(c.res.leaks).isZero();
            assertThat(c.res.leaksFixed).isEqualTo(1);
            assertThat(c.stored.hasDirtyBlocks()).isTrue();
            c.stored.flush();
        }
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "r")) {
            long block = CheckDifferentialTest.readLong(f, CheckImages.reftable(f));
            f.seek(block + 2 * 6);
            assertThat(f.readShort()).isZero(); // 16-bit refcount of cluster 6
        }
    }

    @Test
    void oflagCopiedFindingsDuringTheWalkMatchTheSeparatePass() throws Exception {
        Path img = CheckImages.copiedFlagCleared(dir, "img.qcow2");
        List<CheckMessage> fromWalk;
        try (ImageFile f = ImageFile.openReadOnly(img)) {
            CheckContext c = context(f, CheckMode.NONE);
            CopiedFindings copied = new CopiedFindings(c);
            new ReferenceWalk(c, copied).run(CheckMode.NONE);
            assertThat(copied.overflowed()).isFalse();
            copied.report();
            assertThat(c.res.corruptions).isEqualTo(1);
            fromWalk = List.copyOf(messages);
        }
        messages.clear();
        try (ImageFile f = ImageFile.openReadOnly(img)) {
            CheckContext c = context(f, CheckMode.NONE);
            new OflagCopiedCheck(c).run();
            assertThat(c.res.corruptions).isEqualTo(1);
        }
        assertThat(messages).isEqualTo(fromWalk).hasSize(1);
        assertThat(fromWalk.get(0).severity()).isEqualTo(Severity.CORRUPTION);
    }

    @Test
    void oflagCopiedRepairWritesTheFlagBack() throws Exception {
        Path img = CheckImages.copiedFlagCleared(dir, "img.qcow2");
        try (ImageFile f = ImageFile.openReadWrite(img)) {
            CheckContext c = context(f, CheckMode.ALL);
            new OflagCopiedCheck(c).run();
            assertThat(c.res.corruptions).isZero();
            assertThat(c.res.corruptionsFixed).isEqualTo(1);
            assertThat(messages).extracting(CheckMessage::severity).containsExactly(Severity.REPAIR);
        }
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "r")) {
            assertThat(CheckDifferentialTest.readLong(f, CheckImages.l2Offset(f)) >>> 63).isEqualTo(1);
        }
    }

    @Test
    void rebuildWritesANewRefcountStructureThatChecksClean() throws Exception {
        Path img = CheckImages.clean(dir, "img.qcow2");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            // the L2 table's refcount is 0: a referenced cluster without refcount calls for a rebuild
            CheckDifferentialTest.setRefcount(f, CheckImages.reftable(f), CheckImages.CLUSTER, 16, 4,
                    4 * CheckImages.CLUSTER, 0);
        }
        try (ImageFile f = ImageFile.openReadWrite(img)) {
            CheckResult r = CheckPass.run(Qcow2Metadata.loadForCheck(f), CheckMode.ALL, new CheckSession(), listener);
            assertThat(r.corruptionsFixed()).isEqualTo(1);
            assertThat(r.corruptions()).isZero();
        }
        assertThat(messages).extracting(CheckMessage::text).startsWith(
                "ERROR cluster 4 refcount=0 reference=1", "Rebuilding refcount structure");
        assertThat(ImageChecker.check(img, CheckOptions.defaults()).result().corruptions()).isZero();
    }
}
