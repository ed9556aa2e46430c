package dev.q2.image;

import dev.q2.format.Features;
import dev.q2.format.QcowHeader;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Seam: corruption and dirty marking (qcow2.c's qcow2_mark_dirty, qcow2_mark_clean, qcow2_signal_corruption).
 * The header as it is while the image is open, and the incompatible feature bits written during a session: the
 * dirty bit of a lazy-refcounts image before its first write, and the corrupt bit when metadata is found corrupt.
 */
final class HeaderState {
    private final ImageFile file;
    private final boolean writable;
    private QcowHeader header;
    private boolean markedDirty;
    /** The lazy-refcounts open option (qcow2's lazy-refcounts), or null for the header's compatible feature bit. */
    private Boolean lazyRefcounts;
    /** A corruption was reported (QEMU reports one per image and session). */
    private boolean corruptionSignaled;
    /** The image was marked corrupt while open for writing: all further I/O fails, as QEMU's does. */
    private boolean unusable;

    HeaderState(ImageFile file, QcowHeader header, boolean writable) {
        this.file = file;
        this.header = header;
        this.writable = writable;
    }

    QcowHeader header() {
        return header;
    }

    /** The header after something else rewrote it (the bitmaps extension on open and close). */
    void replace(QcowHeader newHeader) {
        this.header = newHeader;
    }

    int version() {
        return header.version();
    }

    /**
     * QEMU's qcow2_signal_corruption: on an image open for writing the corrupt bit is set and all further I/O on the
     * disk fails ({@link DiskUnusableException}); read-only, only the request fails. The first event is the one
     * reported.
     */
    CorruptMetadataException corrupt(String message) {
        boolean first = !corruptionSignaled;
        corruptionSignaled = true;
        if (!writable) {
            return new CorruptMetadataException(message, false, first);
        }
        unusable = true;
        CorruptMetadataException e = new CorruptMetadataException(message, true, true);
        try {
            writeIncompatibleFeatures(header.incompatibleFeatures() | Features.INCOMPAT_CORRUPT);
        } catch (IOException | RuntimeException io) {
            e.addSuppressed(io);
        }
        return e;
    }

    void requireUsable() throws IOException {
        if (unusable) {
            throw new DiskUnusableException();
        }
    }

    /** The lazy-refcounts option: overrides the header's bit for this session, as QEMU's runtime option does. */
    void useLazyRefcounts(boolean on) {
        lazyRefcounts = on;
    }

    /**
     * True while this session's dirty bit is set: QEMU then writes no refcount block on a flush
     * (qcow2_need_accurate_refcounts), only when an L2 table is allocated and on close.
     */
    boolean refcountsDeferred() {
        return markedDirty;
    }

    /** QEMU sets the dirty bit before the first write of a lazy-refcounts image and clears it on close. */
    void markDirtyIfLazy() throws IOException {
        boolean lazy = lazyRefcounts != null ? lazyRefcounts
                : (header.compatibleFeatures() & Features.COMPAT_LAZY_REFCOUNTS) != 0;
        if (!markedDirty && lazy && header.version() >= 3) {
            writeIncompatibleFeatures(header.incompatibleFeatures() | Features.INCOMPAT_DIRTY);
            markedDirty = true;
        }
    }

    /** On close, once everything is flushed: clears the dirty bit this session set. */
    void markCleanIfDirtied() throws IOException {
        if (markedDirty) {
            writeIncompatibleFeatures(header.incompatibleFeatures() & ~Features.INCOMPAT_DIRTY);
        }
    }

    private void writeIncompatibleFeatures(long bits) throws IOException {
        if (header.version() < 3) {
            return;
        }
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putLong(bits);
        b.flip();
        file.writeFully(72, b);
        file.flush();
        header = header.withIncompatibleFeatures(bits);
    }
}
