package dev.q2.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.q2.format.BitmapDirectory;
import dev.q2.format.BitmapDirectoryEntry;
import dev.q2.format.BitmapsExtension;
import dev.q2.format.CryptoHeaderPointer;
import dev.q2.format.FeatureNameTable;
import dev.q2.format.HeaderExtension;
import dev.q2.format.LuksHeader;
import dev.q2.format.QcowHeader;
import dev.q2.format.SnapshotEntry;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Fuzzes the decoders of dev.q2.format on raw bytes: the fixed header, the extension area after it, and each
 * extension's payload (feature name table, bitmaps extension, crypto header pointer, LUKS header), plus snapshot
 * table and bitmap directory entries read from the same bytes. Only {@code FormatException} may escape.
 */
class HeaderFuzzTest {
    @FuzzTest(maxDuration = "5m")
    void decode(byte[] data) throws Exception {
        Q2Errors.expect(() -> {
            QcowHeader h = QcowHeader.decode(ByteBuffer.wrap(data));
            int start = h.version() == 2 ? QcowHeader.V2_HEADER_LENGTH : h.headerLength();
            if (start < 0 || start > data.length) {
                return;
            }
            List<HeaderExtension> exts = HeaderExtension.decodeAll(ByteBuffer.wrap(data, start, data.length - start));
            for (HeaderExtension e : exts) {
                Q2Errors.expect(() -> payload(e));
            }
        });
        // the same bytes as a snapshot table and as a bitmap directory, entry after entry
        Q2Errors.expect(() -> {
            ByteBuffer b = ByteBuffer.wrap(data);
            while (b.hasRemaining()) {
                SnapshotEntry.decode(b);
            }
        });
        Q2Errors.expect(() -> {
            ByteBuffer b = ByteBuffer.wrap(data);
            while (b.hasRemaining()) {
                BitmapDirectoryEntry.decode(b);
            }
        });
        Q2Errors.expect(() -> BitmapDirectory.decode(data, 1 + (data.length & 7), 65536, 1L << 30)); // QEMU's checks
        Q2Errors.expect(() -> LuksHeader.decode(data).checkLayout());
    }

    private static void payload(HeaderExtension e) throws IOException {
        switch (e.type()) {
            case HeaderExtension.FEATURE_NAME_TABLE -> FeatureNameTable.decode(e.data());
            case HeaderExtension.BITMAPS -> BitmapsExtension.decode(e.data());
            case HeaderExtension.FULL_DISK_ENCRYPTION -> CryptoHeaderPointer.decode(e.data());
            default -> e.dataAsString();
        }
    }
}
