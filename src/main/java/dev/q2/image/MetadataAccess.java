package dev.q2.image;

import dev.q2.format.Features;
import dev.q2.format.QcowHeader;
import dev.q2.io.ImageFile;

import java.io.IOException;

/**
 * The parts of an open {@link Qcow2Disk} that operations on the image's metadata as a whole work on (internal
 * snapshots, {@code dev.q2.snapshot}, as QEMU's qcow2-snapshot.c works on BDRVQcow2State): the image file, its
 * refcounts with QEMU's allocator, the header as the disk knows it. Such an operation must run before any guest I/O
 * on the disk (the disk's L1 table and L2 cache do not follow what it changes), and the disk is closed after it
 * without guest I/O; {@link Qcow2Disk#metadataAccess()} refuses once guest I/O happened.
 */
public final class MetadataAccess {
    private final DiskState disk;

    MetadataAccess(DiskState disk) {
        this.disk = disk;
    }

    public ImageFile file() {
        return disk.file;
    }

    public boolean writable() {
        return disk.writable;
    }

    /** The refcounts and QEMU's allocator; null on a read-only open. */
    public RefcountAllocator refcounts() {
        return disk.refcounts;
    }

    /** The header as it is now (the disk rewrites the header cluster on close from this one). */
    public QcowHeader header() {
        return disk.header.header();
    }

    /** Tells the disk the header fields an operation wrote (so that what it writes on close keeps them). */
    public void headerChanged(QcowHeader header) {
        disk.header.replace(header);
    }

    /** The guest disk size as QEMU counts it (whole sectors): its bs->total_sectors * 512. */
    public long diskSize() {
        return disk.size;
    }

    /** Whether the image keeps its guest data in an external data file. */
    public boolean hasExternalDataFile() {
        return disk.header.header().hasFeature(Features.INCOMPAT_DATA_FILE);
    }

    /** Makes what was written durable (bdrv_flush), unless the disk was opened without durability. */
    public void sync() throws IOException {
        disk.sync(disk.file);
    }

    /** QEMU's qcow2_signal_corruption: marks the image corrupt (open for writing) and returns the error to throw. */
    public CorruptMetadataException corruption(String message) {
        return disk.header.corrupt(message);
    }
}
