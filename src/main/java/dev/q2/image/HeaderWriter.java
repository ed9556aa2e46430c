package dev.q2.image;

import dev.q2.format.FormatException;
import dev.q2.format.HeaderCluster;
import dev.q2.format.HeaderExtension;
import dev.q2.format.QcowHeader;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Rewrites the whole first cluster of an open image as QEMU's qcow2_update_header does: the fixed header (version 3
 * headers at least 112 bytes long, header fields past those 112 bytes kept as they were), the extensions in QEMU's order, the end marker, the backing file name, zeros to
 * the end of the cluster.
 */
public final class HeaderWriter {
    private HeaderWriter() {
    }

    /**
     * Writes the header cluster; {@code backingFile} is the name's bytes as stored, or null. Returns the header as
     * written (backing file offset, header length).
     */
    public static QcowHeader write(ImageFile file, QcowHeader header, List<HeaderExtension> extensions, byte[] backingFile)
            throws IOException {
        QcowHeader h = header;
        if (h.version() >= 3 && h.headerLength() < QcowHeader.V3_HEADER_LENGTH) {
            h = h.withHeaderLength(QcowHeader.V3_HEADER_LENGTH);
        }
        ByteBuffer cluster;
        try {
            cluster = HeaderCluster.encode(h, HeaderCluster.canonicalOrder(h, extensions), backingFile);
        } catch (FormatException e) {
            throw new ImageException("Could not update qcow2 header: " + e.getMessage());
        }
        int unknown = h.version() >= 3 ? h.headerLength() - QcowHeader.V3_HEADER_LENGTH : 0;
        if (unknown > 0) {
            // header fields of a later version of the spec: QEMU keeps their bytes as they were
            ByteBuffer fields = ByteBuffer.allocate(unknown);
            file.readZeroFilled(QcowHeader.V3_HEADER_LENGTH, fields);
            cluster.put(QcowHeader.V3_HEADER_LENGTH, fields.array());
        }
        file.writeFully(0, cluster.duplicate());
        return QcowHeader.decode(cluster);
    }
}
