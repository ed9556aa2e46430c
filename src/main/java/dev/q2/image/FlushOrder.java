package dev.q2.image;

import java.io.IOException;

/**
 * Seam: flush ordering (qcow2.c's qcow2_co_flush_to_os and the cache dependencies of qcow2-cache.c): what must be
 * on disk before what, so that a crash leaves at most leaked clusters. Guest data (the data file), then refcounts,
 * then L2 tables, then L1 entries, then the refcount decreases of clusters no longer referenced.
 */
final class FlushOrder {
    private final DiskState disk;
    private final ClusterMapper mapper;
    private final DeferredFrees frees;

    FlushOrder(DiskState disk, ClusterMapper mapper, DeferredFrees frees) {
        this.disk = disk;
        this.mapper = mapper;
        this.frees = frees;
    }

    void flush() throws IOException {
        if (!disk.writable) {
            return;
        }
        if (disk.externalData) {
            disk.sync(disk.dataFile);
        }
        boolean accurate = !disk.header.refcountsDeferred(); // lazy refcounts: written on close (HeaderState)
        if (accurate) {
            disk.refcounts.flush();
        }
        disk.l2Cache.flush(); // (each slice written flushes the refcounts first, see DiskState)
        disk.sync(disk.file);
        mapper.writeDirtyL1(disk.header.header().l1TableOffset());
        if (!frees.isEmpty()) {
            disk.sync(disk.file);
            frees.apply();
            if (accurate) {
                disk.refcounts.flush();
            }
        }
        disk.sync(disk.file);
    }
}
