package dev.q2.check;

import dev.q2.check.CheckMessage.Severity;
import dev.q2.format.Features;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Guards the repairs' writes (qcow2_pre_write_overlap_check, qcow2_signal_corruption) and clears the dirty and
 * corrupt bits after a repair that left nothing broken (qcow2_mark_clean, qcow2_mark_consistent).
 */
final class MetadataGuard {
    private final CheckContext c;

    MetadataGuard(CheckContext context) {
        this.c = context;
    }

    /** qcow2_pre_write_overlap_check: false (after signalling corruption) when the write would hit metadata. */
    boolean preWriteOverlapCheck(int ignore, long offset, long size) throws IOException {
        String hit = new Overlaps(c.image, c.header, c.l1Table, c.reftableOffset, c.stored.table(), c.clusterSize)
                .check(ignore, offset, size);
        if (hit == null) {
            return true;
        }
        signalCorruption("Preventing invalid write on metadata (overlaps with " + hit + ")");
        return false;
    }

    /** qcow2_signal_corruption: reports once; an image open for writing is marked corrupt. */
    void signalCorruption(String message) {
        boolean fatal = c.mode.repairs();
        if (c.session.signaledCorruption && (!fatal || (c.incompatibleFeatures & Features.INCOMPAT_CORRUPT) != 0)) {
            return;
        }
        if (fatal) {
            c.report(Severity.CHECK_ERROR, "qcow2: Marking image as corrupt: " + message
                    + "; further corruption events will be suppressed");
            try {
                c.incompatibleFeatures |= Features.INCOMPAT_CORRUPT;
                writeIncompatibleFeatures();
            } catch (IOException e) {
                // the check reports the failure that follows
            }
            c.session.driverGone = true;
        } else {
            c.report(Severity.CORRUPTION, "qcow2: Image is corrupt: " + message
                    + "; further non-fatal corruption events will be suppressed");
        }
        c.session.signaledCorruption = true;
    }

    private void writeIncompatibleFeatures() throws IOException {
        if (c.header.version() < 3) {
            return;
        }
        ByteBuffer b = ByteBuffer.allocate(8).putLong(0, c.incompatibleFeatures);
        c.file.writeFully(72, b);
        c.file.flush();
    }

    /** qcow2_mark_clean + qcow2_mark_consistent after a repair that left no corruption. */
    void markCleanIfRepaired() throws IOException {
        if (!c.mode.repairs() || c.res.checkErrors != 0 || c.res.corruptions != 0) {
            return;
        }
        long bits = c.incompatibleFeatures & ~(Features.INCOMPAT_DIRTY | Features.INCOMPAT_CORRUPT);
        if (bits != c.incompatibleFeatures) {
            c.file.flush();
            c.incompatibleFeatures = bits;
            writeIncompatibleFeatures();
        }
    }
}
