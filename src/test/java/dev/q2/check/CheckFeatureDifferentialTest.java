package dev.q2.check;

import dev.q2.format.BitmapDirectoryEntry;
import dev.q2.format.SnapshotEntry;
import dev.q2.image.Qcow2Metadata;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.q2.check.CheckDifferentialTest.readInt;
import static dev.q2.check.CheckDifferentialTest.readLong;
import static dev.q2.check.CheckDifferentialTest.setRefcount;
import static dev.q2.check.CheckDifferentialTest.writeLong;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Differential test over images with the features the plain corpus lacks: internal snapshots, persistent bitmaps,
 * compressed clusters and a backing file, each clean and damaged in ways relevant to the feature. Both tools check
 * each image (exit code, JSON, stderr) and repair a copy with -r all (stdout, exit code; a clean qemu-img check of
 * q2's result and an equal qemu-img compare with qemu-img's own repair). Skipped when qemu-img is not installed.
 */
@Tag("qemu")
class CheckFeatureDifferentialTest {
    @TempDir
    Path dir;

    enum Kind { PLAIN, SNAPSHOT, BITMAP, COMPRESSED, BACKING }

    enum Damage {
        NONE(Kind.values()),
        LEAK(Kind.SNAPSHOT, Kind.BITMAP, Kind.BACKING),
        REFCOUNT_ZERO(Kind.BACKING),
        COPIED_CLEARED(Kind.BACKING, Kind.SNAPSHOT),
        COPIED_SET(Kind.SNAPSHOT),
        L2_DOUBLE(Kind.BACKING),
        // snapshots
        SNAP_L1_REFCOUNT_ZERO(Kind.SNAPSHOT),
        SNAP_L1_REFCOUNT_HIGH(Kind.SNAPSHOT),
        SNAP_L2_REFCOUNT_HIGH(Kind.SNAPSHOT),
        SNAP_L2_REFCOUNT_ZERO(Kind.SNAPSHOT),
        SHARED_REFCOUNT_LOW(Kind.SNAPSHOT),
        SNAP_L1_UNALIGNED(Kind.SNAPSHOT),
        SNAP_L1_TOO_LARGE(Kind.SNAPSHOT),
        SNAP_L2_PAST_EOF(Kind.SNAPSHOT),
        SNAP_L2_ENTRY_UNALIGNED(Kind.SNAPSHOT),
        // bitmaps
        BM_ENTRY_PAST_EOF(Kind.BITMAP),
        BM_ENTRY_UNALIGNED(Kind.BITMAP),
        BM_ENTRY_RESERVED(Kind.BITMAP),
        BM_IN_USE_ENTRY_UNALIGNED(Kind.BITMAP),
        BM_TABLE_REFCOUNT_ZERO(Kind.BITMAP),
        BM_DATA_REFCOUNT_HIGH(Kind.BITMAP),
        BM_DIR_REFCOUNT_HIGH(Kind.BITMAP),
        // compressed clusters
        COMP_SPAN_PAST_EOF(Kind.COMPRESSED),
        COMP_OFFSET_PAST_EOF(Kind.COMPRESSED),
        COMP_REFCOUNT_LOW(Kind.COMPRESSED),
        COMP_REFCOUNT_ZERO(Kind.COMPRESSED),
        COMP_COPIED(Kind.COMPRESSED),
        COMP_LEAK(Kind.COMPRESSED),
        // overlapping metadata
        OVL_L2_AT_REFTABLE(Kind.PLAIN),
        OVL_L2_AT_REFBLOCK(Kind.PLAIN),
        OVL_L2_AT_L1(Kind.PLAIN),
        OVL_L2_AT_OWN_L2(Kind.PLAIN),
        OVL_L1_SAME_L2(Kind.PLAIN),
        OVL_L1_AT_REFTABLE(Kind.PLAIN),
        OVL_L1_AT_L1(Kind.PLAIN),
        OVL_L2_AT_SNAPSHOT_TABLE(Kind.SNAPSHOT),
        OVL_L2_AT_SNAPSHOT_L1(Kind.SNAPSHOT),
        OVL_L2_AT_BITMAP_TABLE(Kind.BITMAP);

        final List<Kind> kinds;

        Damage(Kind... kinds) {
            this.kinds = List.of(kinds);
        }
    }

    record Config(String name, Kind kind, String options) {
    }

    static List<Object[]> cases() {
        List<Config> configs = List.of(
                new Config("c4k", Kind.PLAIN, "cluster_size=4k"),
                new Config("c4k-rb1", Kind.PLAIN, "cluster_size=4k,refcount_bits=1"),
                new Config("snap", Kind.SNAPSHOT, ""),
                new Config("snap-c4k-extl2", Kind.SNAPSHOT, "cluster_size=16k,extended_l2=on"),
                new Config("bitmap", Kind.BITMAP, ""),
                new Config("compressed", Kind.COMPRESSED, ""),
                new Config("compressed-c4k", Kind.COMPRESSED, "cluster_size=4k"),
                new Config("backing", Kind.BACKING, ""));
        return CheckVerdicts.pairs(configs, Damage.values(), (c, d) -> d.kinds.contains(c.kind()));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void sameVerdictAndRepair(Config c, Damage d) throws Exception {
        Qemu.assumeAvailable();
        make(c);
        damage(dir.resolve("img.qcow2"), d);

        CheckVerdicts.sameVerdictAndRepair(dir, true);
    }

    private void make(Config c) {
        String opts = c.options().isEmpty() ? "" : c.options();
        switch (c.kind()) {
            case PLAIN -> {
                create("img.qcow2", opts, "8M");
                io("img.qcow2", "write -P 0x11 0 64k", "write -P 0x22 2M 16k", "write -P 0x33 5M 8k");
            }
            case SNAPSHOT -> {
                create("img.qcow2", opts, "4M");
                io("img.qcow2", "write -P 0x11 0 192k", "write -P 0x22 1M 64k");
                img("snapshot", "-c", "s1", "img.qcow2");
                io("img.qcow2", "write -P 0x33 64k 64k");
                img("snapshot", "-c", "s2", "img.qcow2");
                io("img.qcow2", "write -P 0x44 2M 64k");
            }
            case BITMAP -> {
                create("img.qcow2", opts, "4M");
                img("bitmap", "--add", "img.qcow2", "b0");
                io("img.qcow2", "write -P 0x11 0 192k", "write -P 0x22 2M 64k");
                img("bitmap", "--add", "img.qcow2", "b1");
                io("img.qcow2", "write -P 0x33 3M 64k");
            }
            case COMPRESSED -> {
                create("src.qcow2", "", "4M");
                io("src.qcow2", "write -P 0x11 0 192k", "write -P 0x22 1M 8k", "write -P 0x33 3M 64k");
                List<String> args = new ArrayList<>(List.of("convert", "-c", "-O", "qcow2"));
                if (!opts.isEmpty()) {
                    args.add("-o");
                    args.add(opts);
                }
                args.add("src.qcow2");
                args.add("img.qcow2");
                img(args.toArray(String[]::new));
            }
            case BACKING -> {
                create("base.qcow2", "", "4M");
                io("base.qcow2", "write -P 0x11 0 256k");
                img("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "img.qcow2");
                io("img.qcow2", "write -P 0x22 64k 64k", "write -P 0x33 1M 64k", "write -P 0x44 128k 4k");
            }
        }
    }

    private void create(String name, String opts, String size) {
        if (opts.isEmpty()) {
            img("create", "-q", "-f", "qcow2", name, size);
        } else {
            img("create", "-q", "-f", "qcow2", "-o", opts, name, size);
        }
    }

    private void img(String... args) {
        Qemu.imgOk(dir, args);
    }

    private void io(String file, String... cmds) {
        Qemu.ioOk(dir, file, cmds);
    }

    private static void damage(Path img, Damage d) throws IOException {
        if (d == Damage.NONE) {
            return;
        }
        List<SnapshotEntry> snaps;
        List<BitmapDirectoryEntry> bitmaps;
        try (Qcow2Metadata image = Qcow2Metadata.openReadOnly(img)) {
            snaps = image.snapshots();
            bitmaps = image.bitmaps();
        }
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            int clusterBits = readInt(f, 20);
            long cs = 1L << clusterBits;
            int refcountOrder = readInt(f, 96);
            boolean ext = (readLong(f, 72) & 16) != 0;
            int entrySize = ext ? 16 : 8;
            long l1 = readLong(f, 40);
            long reftable = readLong(f, 48);
            long snapTable = readLong(f, 64);
            long l2 = readLong(f, l1) & 0x00fffffffffffe00L;
            long e0 = readLong(f, l2);
            long data0 = e0 & 0x00fffffffffffe00L;
            long eof = f.length();
            long pastEof = (eof + 16 * cs) & ~(cs - 1);
            long snL1 = snaps.isEmpty() ? 0 : snaps.get(0).l1TableOffset();
            long snL2 = snaps.isEmpty() ? 0 : readLong(f, snL1) & 0x00fffffffffffe00L;
            long bmTable = bitmaps.isEmpty() ? 0 : bitmaps.get(0).bitmapTableOffset();
            int csizeShift = 62 - (clusterBits - 8);
            long coffMask = (1L << csizeShift) - 1;
            switch (d) {
                case NONE -> {
                }
                case LEAK -> writeLong(f, l2 + 2L * entrySize, 0); // guest cluster 2 loses its host cluster
                case REFCOUNT_ZERO -> setRefcount(f, reftable, cs, clusterBits, refcountOrder, data0, 0);
                case COPIED_CLEARED -> {
                    long pos = l2;
                    while (pos < l2 + cs && readLong(f, pos) >= 0) {
                        pos += entrySize; // the first entry with OFLAG_COPIED (sign bit) set
                    }
                    writeLong(f, pos, readLong(f, pos) & ~(1L << 63));
                }
                case COPIED_SET -> writeLong(f, l2, e0 | (1L << 63));
                case L2_DOUBLE -> {
                    long e1 = readLong(f, l2 + entrySize);
                    writeLong(f, l2 + 16L * entrySize, e1);
                }
                case SNAP_L1_REFCOUNT_ZERO -> setRefcount(f, reftable, cs, clusterBits, refcountOrder, snL1, 0);
                case SNAP_L1_REFCOUNT_HIGH -> setRefcount(f, reftable, cs, clusterBits, refcountOrder, snL1, 2);
                case SNAP_L2_REFCOUNT_HIGH -> setRefcount(f, reftable, cs, clusterBits, refcountOrder, snL2, 4);
                case SNAP_L2_REFCOUNT_ZERO -> setRefcount(f, reftable, cs, clusterBits, refcountOrder, snL2, 0);
                case SHARED_REFCOUNT_LOW -> setRefcount(f, reftable, cs, clusterBits, refcountOrder, data0, 1);
                case SNAP_L1_UNALIGNED -> writeLong(f, snapTable, snL1 | 0x200);
                case SNAP_L1_TOO_LARGE -> {
                    f.seek(snapTable + 8);
                    f.writeInt(0x400001);
                }
                case SNAP_L2_PAST_EOF -> writeLong(f, snL1, pastEof);
                case SNAP_L2_ENTRY_UNALIGNED -> writeLong(f, snL2 + entrySize,
                        readLong(f, snL2 + entrySize) | 0x200);
                case BM_ENTRY_PAST_EOF -> writeLong(f, bmTable, pastEof);
                case BM_ENTRY_UNALIGNED -> writeLong(f, bmTable, readLong(f, bmTable) | 0x200);
                case BM_ENTRY_RESERVED -> writeLong(f, bmTable, readLong(f, bmTable) | 2);
                case BM_IN_USE_ENTRY_UNALIGNED -> {
                    // an in-use bitmap is not loaded at open, so the check itself meets the bad entry
                    long flagsPos = bitmapDirectoryOffset(f, cs) + 12;
                    f.seek(flagsPos);
                    int flags = f.readInt();
                    f.seek(flagsPos);
                    f.writeInt(flags | 1);
                    writeLong(f, bmTable, readLong(f, bmTable) | 0x200);
                }
                case BM_TABLE_REFCOUNT_ZERO -> setRefcount(f, reftable, cs, clusterBits, refcountOrder, bmTable, 0);
                case BM_DATA_REFCOUNT_HIGH -> setRefcount(f, reftable, cs, clusterBits, refcountOrder,
                        readLong(f, bmTable) & 0x00fffffffffffe00L, 3);
                case BM_DIR_REFCOUNT_HIGH -> {
                    long dirOffset = bitmapDirectoryOffset(f, cs);
                    setRefcount(f, reftable, cs, clusterBits, refcountOrder, dirOffset, 2);
                }
                case COMP_SPAN_PAST_EOF -> {
                    long e = lastCompressed(f, l2, cs, entrySize);
                    long pos = e >>> 32;
                    long entry = readLong(f, pos);
                    long csizeMask = (1L << (clusterBits - 8)) - 1;
                    writeLong(f, pos, entry | (csizeMask << csizeShift));
                }
                case COMP_OFFSET_PAST_EOF -> {
                    long pos = lastCompressed(f, l2, cs, entrySize) >>> 32;
                    long entry = readLong(f, pos);
                    writeLong(f, pos, (entry & ~coffMask) | (pastEof + 100));
                }
                case COMP_REFCOUNT_LOW -> setRefcount(f, reftable, cs, clusterBits, refcountOrder,
                        e0 & coffMask & ~(cs - 1), 1);
                case COMP_REFCOUNT_ZERO -> setRefcount(f, reftable, cs, clusterBits, refcountOrder,
                        e0 & coffMask & ~(cs - 1), 0);
                case COMP_COPIED -> writeLong(f, l2, e0 | (1L << 63));
                case OVL_L2_AT_REFTABLE -> writeLong(f, l2 + entrySize, (1L << 63) | reftable);
                case OVL_L2_AT_REFBLOCK -> writeLong(f, l2 + entrySize, (1L << 63)
                        | (readLong(f, reftable) & 0x00fffffffffffe00L));
                case OVL_L2_AT_L1 -> writeLong(f, l2 + entrySize, (1L << 63) | (l1 & ~(cs - 1)));
                case OVL_L2_AT_OWN_L2 -> writeLong(f, l2 + entrySize, (1L << 63) | l2);
                case OVL_L1_SAME_L2 -> writeLong(f, l1 + 8, readLong(f, l1));
                case OVL_L1_AT_REFTABLE -> writeLong(f, l1 + 8, (1L << 63) | reftable);
                case OVL_L1_AT_L1 -> writeLong(f, l1 + 8, (1L << 63) | (l1 & ~(cs - 1)));
                case OVL_L2_AT_SNAPSHOT_TABLE -> writeLong(f, l2 + entrySize, snapTable & ~(cs - 1));
                case OVL_L2_AT_SNAPSHOT_L1 -> writeLong(f, l2 + entrySize, snL1);
                case OVL_L2_AT_BITMAP_TABLE -> writeLong(f, l2 + entrySize, (1L << 63) | bmTable);
                case COMP_LEAK -> {
                    long pos = lastCompressed(f, l2, cs, entrySize) >>> 32;
                    writeLong(f, pos, 0);
                }
            }
        }
    }

    /** Position (upper 32 bits) of the last compressed entry of the L2 table at l2. */
    private static long lastCompressed(RandomAccessFile f, long l2, long cs, int entrySize) throws IOException {
        long found = -1;
        for (long p = l2; p < l2 + cs; p += entrySize) {
            if ((readLong(f, p) & (1L << 62)) != 0) {
                found = p;
            }
        }
        assertThat(found).isPositive();
        return found << 32;
    }

    private static long bitmapDirectoryOffset(RandomAccessFile f, long cs) throws IOException {
        long p = readInt(f, 100); // header_length
        while (p + 8 <= cs) {
            int type = readInt(f, p);
            int len = readInt(f, p + 4);
            if (type == 0x23852875) {
                return readLong(f, p + 8 + 16);
            }
            if (type == 0) {
                break;
            }
            p += 8 + ((len + 7) & ~7);
        }
        throw new AssertionError("no bitmaps extension");
    }
}
