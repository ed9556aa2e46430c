package dev.q2.chain;

import java.util.Set;

/** The driver names qemu-img 7.2 knows ({@code bdrv_find_format}): its "Supported formats" list. */
final class Formats {
    private Formats() {
    }

    static final Set<String> KNOWN = Set.of("blkdebug", "blklogwrites", "blkverify", "bochs", "cloop", "compress",
            "copy-before-write", "copy-on-read", "dmg", "file", "ftp", "ftps", "gluster", "host_cdrom", "host_device",
            "http", "https", "iscsi", "iser", "luks", "nbd", "nfs", "null-aio", "null-co", "nvme", "parallels",
            "preallocate", "qcow", "qcow2", "qed", "quorum", "raw", "rbd", "replication", "snapshot-access", "ssh",
            "throttle", "vdi", "vhdx", "vmdk", "vpc", "vvfat");

    /** The length the block layer gives a device: whole 512-byte sectors, rounded up ({@code blk_getlength}). */
    static long sectors(long bytes) {
        return (bytes + 511) & ~511L;
    }
}
