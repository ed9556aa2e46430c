package dev.q2.image;

import dev.q2.format.Features;
import dev.q2.format.HeaderExtension;
import dev.q2.format.QcowHeader;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Header rewrites of a closed image that other packages need (rebase, commit): QEMU's qcow2_update_header through
 * {@link HeaderWriter}, so the header cluster comes out as QEMU writes it.
 */
public final class HeaderUpdate {
    private HeaderUpdate() {
    }

    /** The header cannot take what was asked (QEMU's -EINVAL or -ENOSPC): {@link #errno} says which. */
    public static final class RefusedException extends ImageException {
        private final String errno;

        RefusedException(String errno) {
            super(errno);
            this.errno = errno;
        }

        /** strerror of QEMU's error: "Invalid argument" or "No space left on device". */
        public String errno() {
            return errno;
        }

        public boolean noSpace() {
            return errno.equals(NO_SPACE);
        }
    }

    static final String INVALID = "Invalid argument";
    static final String NO_SPACE = "No space left on device";

    /**
     * Sets (or with a null {@code name} removes) the backing file name and its format extension, as QEMU's
     * qcow2_change_backing_file: a name longer than 1023 bytes, or a backing file for an image whose external data
     * file is raw, is refused (EINVAL); a header that no longer fits in the first cluster is refused (ENOSPC), and
     * nothing is written then.
     */
    public static QcowHeader changeBackingFile(ImageFile file, String name, String format) throws IOException {
        Qcow2Metadata img = Qcow2Metadata.loadMetadata(file);
        QcowHeader h = img.header();
        byte[] bytes = name == null ? null : name.getBytes(StandardCharsets.UTF_8);
        if (bytes != null && (h.autoclearFeatures() & Features.AUTOCLEAR_DATA_FILE_RAW) != 0
                && (h.incompatibleFeatures() & Features.INCOMPAT_DATA_FILE) != 0) {
            throw new RefusedException(INVALID);
        }
        if (bytes != null && bytes.length > 1023) {
            throw new RefusedException(INVALID);
        }
        List<HeaderExtension> ext = new ArrayList<>();
        for (HeaderExtension e : img.extensions()) {
            if (e.type() != HeaderExtension.BACKING_FORMAT) {
                ext.add(e);
            }
        }
        if (format != null && !format.isEmpty()) {
            ext.add(HeaderExtension.ofString(HeaderExtension.BACKING_FORMAT, format));
        }
        if (bytes != null && bytes.length == 0) {
            bytes = null;
        }
        return rewrite(file, h, ext, bytes);
    }

    /**
     * Rewrites the header cluster from {@code header}, {@code extensions} and the backing file name's bytes (null:
     * none), as QEMU's qcow2_update_header; ENOSPC when it does not fit in the first cluster.
     */
    public static QcowHeader rewrite(ImageFile file, QcowHeader header, List<HeaderExtension> extensions,
                                     byte[] backingFile) throws IOException {
        try {
            dev.q2.format.HeaderCluster.encode(header.version() >= 3
                    && header.headerLength() < QcowHeader.V3_HEADER_LENGTH
                    ? header.withHeaderLength(QcowHeader.V3_HEADER_LENGTH) : header,
                    dev.q2.format.HeaderCluster.canonicalOrder(header, extensions), backingFile);
        } catch (dev.q2.format.FormatException e) {
            throw new RefusedException(NO_SPACE);
        }
        return HeaderWriter.write(file, header, extensions, backingFile);
    }

    /** The backing file name's bytes as stored in the image, or null. */
    public static byte[] backingFileBytes(ImageFile file, QcowHeader h) throws IOException {
        if (h.backingFileOffset() == 0 || h.backingFileSize() == 0) {
            return null;
        }
        ByteBuffer name = ByteBuffer.allocate(h.backingFileSize());
        file.readZeroFilled(h.backingFileOffset(), name);
        return name.array();
    }
}
