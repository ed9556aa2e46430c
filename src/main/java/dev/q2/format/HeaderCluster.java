package dev.q2.format;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Lays out the first cluster of an image as QEMU's qcow2_update_header does: the fixed header, then the header
 * extensions in QEMU's order (backing format, external data file, full disk encryption pointer, feature name table,
 * bitmaps, then any unknown extensions as they were), the end marker, and the backing file name right after it.
 */
public final class HeaderCluster {
    private HeaderCluster() {
    }

    /** QEMU leaves the feature name table out of headers whose cluster is 4 KiB or smaller. */
    public static boolean writesFeatureTable(QcowHeader h) {
        return h.version() >= 3 && h.clusterSize() > 4096;
    }

    /**
     * Orders extensions as QEMU writes them. Of each known type the last one in {@code given} (the one QEMU read
     * last and kept) is placed in QEMU's order; the feature name table is replaced by QEMU's current one (or dropped
     * where QEMU drops it); unknown ones follow in reverse order, since QEMU keeps them in a list it adds to at the
     * head while reading (qcow2_read_extensions) and writes from the head (qcow2_update_header).
     */
    public static List<HeaderExtension> canonicalOrder(QcowHeader h, List<HeaderExtension> given) {
        List<HeaderExtension> out = new ArrayList<>();
        int[] order = {HeaderExtension.BACKING_FORMAT, HeaderExtension.EXTERNAL_DATA_FILE,
            HeaderExtension.FULL_DISK_ENCRYPTION};
        for (int type : order) {
            addLast(given, type, out);
        }
        if (writesFeatureTable(h)) {
            out.add(new HeaderExtension(HeaderExtension.FEATURE_NAME_TABLE, FeatureNameTable.qemuDefault().encode()));
        }
        addLast(given, HeaderExtension.BITMAPS, out);
        for (int i = given.size() - 1; i >= 0; i--) {
            if (!HeaderExtension.isKnown(given.get(i).type())) {
                out.add(given.get(i));
            }
        }
        return out;
    }

    /** Adds the last extension of {@code type} in {@code given}, if any (a loop: no method reference at start-up). */
    private static void addLast(List<HeaderExtension> given, int type, List<HeaderExtension> out) {
        for (int i = given.size() - 1; i >= 0; i--) {
            if (given.get(i).type() == type) {
                out.add(given.get(i));
                return;
            }
        }
    }

    /**
     * Encodes a whole first cluster. The header's backing_file_offset/size are set from {@code backingFile}.
     *
     * @throws FormatException if it does not fit in one cluster
     */
    public static ByteBuffer encode(QcowHeader header, List<HeaderExtension> extensions, String backingFile)
            throws FormatException {
        return encode(header, extensions, backingFile == null ? null : backingFile.getBytes(StandardCharsets.UTF_8));
    }

    /** As {@link #encode(QcowHeader, List, String)} with the backing file name's bytes (they need not be UTF-8). */
    public static ByteBuffer encode(QcowHeader header, List<HeaderExtension> extensions, byte[] backingFile)
            throws FormatException {
        int cs = (int) header.clusterSize();
        ByteBuffer buf = ByteBuffer.allocate(cs);
        int pos = header.encodedLength();
        buf.position(pos);
        for (HeaderExtension e : extensions) {
            if (buf.remaining() < e.encodedLength()) {
                throw new FormatException("header extensions do not fit in the first cluster");
            }
            e.encode(buf);
        }
        if (buf.remaining() < 8) {
            throw new FormatException("header extensions do not fit in the first cluster");
        }
        buf.putLong(0); // end marker: type 0, length 0
        QcowHeader h = header.withBackingFile(0, 0);
        if (backingFile != null) {
            byte[] name = backingFile;
            if (buf.remaining() < name.length) {
                throw new FormatException("backing file name does not fit in the first cluster");
            }
            h = header.withBackingFile(buf.position(), name.length);
            buf.put(name);
        }
        buf.position(0);
        h.encode(buf);
        buf.clear();
        return buf;
    }
}
