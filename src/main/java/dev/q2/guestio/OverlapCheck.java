package dev.q2.guestio;

import dev.q2.image.Qcow2Disk;
import dev.q2.image.Qcow2Metadata;
import dev.q2.snapshot.Qcow2Snapshots;
import dev.q2.snapshot.SnapshotException;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;

/**
 * QEMU's qcow2 metadata overlap checks as q2 io's open takes them ({@code overlap-check=none|constant|cached|all},
 * the same as {@code overlap-check.template}, and a boolean per structure, {@code overlap-check.inactive-l2=on}).
 * The options are read and checked in QEMU's words; of the checks themselves q2 io does what QEMU's inactive-L2
 * check does on an image whose snapshot table names an L1 table QEMU cannot read (iotest 080): that check validates
 * every snapshot's L1 table before each write of the image file and fails the write with the validation's errno
 * ("File too large" for a table too large, "Invalid argument" for a bad offset), so every write fails and nothing
 * is written. QEMU's allocation has dirtied its refcount cache by then (the snapshot shares the active clusters),
 * so its close reports that the cache could not be flushed; q2 io prints the same line at the close after any
 * refused write (QEMU does not where the write needed no allocation). q2's engine does not check its own writes against the metadata
 * otherwise (it never places data over metadata of an image it can read).
 */
public final class OverlapCheck {
    /** The per-structure options, in QEMU's bit order. */
    static final String[] STRUCTURES = {"main-header", "active-l1", "active-l2", "refcount-table", "refcount-block",
        "snapshot-table", "inactive-l1", "inactive-l2", "bitmap-directory"};
    private static final int INACTIVE_L2 = 1 << 7;
    private static final int CONSTANT = 1 | 1 << 1 | 1 << 3 | 1 << 5 | 1 << 8;
    private static final int CACHED = CONSTANT | 1 << 2 | 1 << 4 | 1 << 6;
    private static final int ALL = CACHED | INACTIVE_L2;

    private OverlapCheck() {
    }

    /** Whether {@code key} is one of the overlap-check options. */
    public static boolean isOption(String key) {
        if (key.equals("overlap-check") || key.equals("overlap-check.template")) {
            return true;
        }
        for (String s : STRUCTURES) {
            if (key.equals("overlap-check." + s)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The checks {@code options} ask for, as a mask in QEMU's bit order (QEMU's default: cached).
     *
     * @throws CacheOptions.Refused with QEMU's words for an unknown template or two that conflict
     */
    public static int mask(Map<String, String> options) throws CacheOptions.Refused {
        String mode = options.get("overlap-check");
        String template = options.get("overlap-check.template");
        if (mode != null && template != null && !mode.equals(template)) {
            throw new CacheOptions.Refused("Conflicting values for qcow2 options 'overlap-check' ('" + mode
                    + "') and 'overlap-check.template' ('" + template + "')");
        }
        if (mode == null) {
            mode = template != null ? template : "cached";
        }
        int mask = switch (mode) {
            case "none" -> 0;
            case "constant" -> CONSTANT;
            case "cached" -> CACHED;
            case "all" -> ALL;
            default -> throw new CacheOptions.Refused("Unsupported value '" + mode + "' for qcow2 option "
                    + "'overlap-check'. Allowed are any of the following: none, constant, cached, all");
        };
        for (int i = 0; i < STRUCTURES.length; i++) {
            String v = options.get("overlap-check." + STRUCTURES[i]);
            if (v != null) {
                mask = v.equals("on") ? mask | 1 << i : mask & ~(1 << i);
            }
        }
        return mask;
    }

    /**
     * {@code disk} with the checks of {@code mask} (a qcow2 image at {@code path}): itself when they change
     * nothing, else a disk whose writes fail as QEMU's do; the close's line goes to {@code err}.
     */
    public static GuestDisk guard(GuestDisk disk, Path path, int mask, PrintWriter err) throws IOException {
        if ((mask & INACTIVE_L2) == 0 || disk.qcow2() == null) {
            return disk;
        }
        String failure = null;
        try (Qcow2Metadata md = Qcow2Metadata.openMetadata(path)) {
            long cs = md.header().clusterSize();
            for (dev.q2.format.SnapshotEntry sn : md.snapshots()) {
                SnapshotException e = Qcow2Snapshots.validateL1(sn.l1TableOffset(), sn.l1Size(), cs);
                if (e != null) {
                    failure = e.errno().text;
                    break;
                }
            }
        }
        return failure == null ? disk : new Refusing(disk, failure, err);
    }

    /** A write refused by the overlap check: the message is the errno's words. */
    public static final class Failed extends IOException {
        private static final long serialVersionUID = 1L;

        Failed(String message) {
            super(message);
        }
    }

    /** Every write fails before anything is written; the close reports the refcount cache QEMU could not flush. */
    private static final class Refusing implements GuestDisk {
        private final GuestDisk disk;
        private final String failure;
        private final PrintWriter err;
        private boolean dirty;

        Refusing(GuestDisk disk, String failure, PrintWriter err) {
            this.disk = disk;
            this.failure = failure;
            this.err = err;
        }

        private Failed refuse() {
            dirty = true;
            return new Failed(failure);
        }

        @Override
        public String format() {
            return disk.format();
        }

        @Override
        public long size() {
            return disk.size();
        }

        @Override
        public void read(long offset, ByteBuffer dst) throws IOException {
            disk.read(offset, dst);
        }

        @Override
        public void write(long offset, ByteBuffer src) throws IOException {
            throw refuse();
        }

        @Override
        public void writeZeroes(long offset, long length, boolean unmap) throws IOException {
            throw refuse();
        }

        @Override
        public void discard(long offset, long length) throws IOException {
            throw refuse();
        }

        @Override
        public void flush() throws IOException {
            disk.flush();
        }

        @Override
        public Qcow2Disk qcow2() {
            return disk.qcow2(); // (for queries; write -c goes to the engine directly and is not refused)
        }

        @Override
        public void close() throws IOException {
            if (dirty) {
                err.println("q2: Failed to flush the refcount block cache: " + failure);
                err.flush();
            }
            disk.close();
        }
    }
}
