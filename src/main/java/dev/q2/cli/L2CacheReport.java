package dev.q2.cli;

import dev.q2.cache.L2CacheSizing;
import dev.q2.util.QDict;
import dev.q2.util.Sizes;

/** The L2 cache section of q2 info, in JSON ("l2-cache") and human form. */
final class L2CacheReport {
    private L2CacheReport() {
    }

    /** The JSON object; {@code allocatedTables} below 0 (an image not yet made, as measure plans it) is left out. */
    static QDict json(L2CacheSizing s, long allocatedTables) {
        QDict d = new QDict();
        d.putTrailing("l2-entry-size", s.entrySize());
        d.putTrailing("l2-entries-per-table", s.entriesPerTable());
        if (s.extendedL2()) {
            d.putTrailing("subcluster-size", s.allocationUnit());
        }
        d.putTrailing("l2-tables-for-full-coverage", s.tablesForFullCoverage());
        d.putTrailing("full-coverage-bytes", s.fullCoverageBytes());
        if (allocatedTables >= 0) {
            d.putTrailing("allocated-l2-tables", allocatedTables);
        }
        d.putTrailing("default-cache-bytes", L2CacheSizing.QEMU_DEFAULT_MAX);
        d.putTrailing("default-cache-coverage-bytes", s.defaultCacheCoverageBytes());
        d.putTrailing("default-covers-disk", s.defaultCoversDisk());
        d.putTrailing("qemu-option", qemuOption(s));
        d.putTrailing("libvirt-driver", libvirtDriver(s));
        return d;
    }

    static String qemuOption(L2CacheSizing s) {
        return s.qemuOption();
    }

    static String libvirtDriver(L2CacheSizing s) {
        return s.libvirtDriver();
    }

    private static String size(long bytes) {
        return Sizes.humanSize(bytes) + " (" + bytes + " bytes)";
    }

    /**
     * The human block; {@code allocatedTables} below 0 leaves its line out and a null {@code filename} shows as
     * IMAGE (an image not yet made, as measure plans it).
     */
    static void human(StringBuilder sb, L2CacheSizing s, long allocatedTables, String filename) {
        sb.append("L2 cache:\n");
        sb.append("    l2 entry size: ").append(s.entrySize()).append('\n');
        sb.append("    l2 entries per table: ").append(s.entriesPerTable()).append('\n');
        if (s.extendedL2()) {
            sb.append("    subcluster size: ").append(s.allocationUnit()).append('\n');
        }
        sb.append("    l2 tables for full coverage: ").append(s.tablesForFullCoverage()).append('\n');
        sb.append("    full coverage: ").append(size(s.fullCoverageBytes())).append('\n');
        if (allocatedTables >= 0) {
            sb.append("    allocated l2 tables: ").append(allocatedTables).append('\n');
        }
        sb.append("    qemu default cache: ").append(size(L2CacheSizing.QEMU_DEFAULT_MAX)).append(" maps ")
                .append(size(s.defaultCacheCoverageBytes())).append('\n');
        if (s.defaultCoversDisk()) {
            sb.append("    verdict: QEMU's default cache covers the whole disk; nothing to set\n");
        } else {
            long pct = Math.round(100.0 * s.defaultCacheCoverageBytes() / s.virtualSize());
            sb.append("    verdict: QEMU's default cache covers only ").append(pct)
                    .append("% of the disk; random I/O outside that much reloads L2 tables from disk\n");
        }
        sb.append("    qemu: -drive file=").append(filename == null ? "IMAGE" : filename).append(",format=qcow2,").append(qemuOption(s))
                .append('\n');
        sb.append("    libvirt: ").append(libvirtDriver(s)).append('\n');
    }
}
