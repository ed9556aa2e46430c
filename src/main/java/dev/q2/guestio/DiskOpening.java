package dev.q2.guestio;

import dev.q2.create.CreateSpec;
import dev.q2.create.Preallocation;
import dev.q2.create.Qcow2Creator;
import dev.q2.image.ImageException;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How q2 io opens an image beyond the opener's plain open: the {@code lazy-refcounts} option, copy-on-read (-C) and
 * snapshot mode (-s). Snapshot mode is QEMU's snapshot=on: the image is opened read-only as the backing file of a
 * new qcow2 image in $TMPDIR (/var/tmp without it) named {@code vl.XXXXXX}, which takes every write and is deleted
 * when the image is closed (a process killed before that leaves it, as QEMU does). QEMU's overlay names no backing
 * file in its header (the block layer attaches the image in memory); q2's names the image by its absolute path, so
 * that q2's engine opens the chain as usual.
 */
final class DiskOpening {
    private DiskOpening() {
    }

    /** An open disk, and snapshot mode's overlay (null without -s). */
    record Opened(GuestDisk disk, Path overlay) {
    }

    /** Opens the image {@code spec} describes; reports qemu-io's error on {@code err} and returns null if it cannot. */
    static Opened open(IoScript.Opener opener, OpenSpec spec, PrintWriter err) {
        if (spec.copyOnRead() && spec.readOnly()) {
            err.println("q2: can't open device " + spec.name() + ": Can't use copy-on-read on read-only device");
            return null;
        }
        Map<String, String> options = new LinkedHashMap<>(spec.options());
        String lazy = options.remove("lazy-refcounts");
        GuestDisk d;
        Path overlay = null;
        if (spec.snapshot()) {
            GuestDisk base = opener.open(spec.name(), spec.format(), Map.of(), true, spec.forceShare(), err);
            if (base == null) {
                return null;
            }
            try (base) {
                overlay = createOverlay(opener.workDir().resolve(spec.name()).toAbsolutePath(), base.format(),
                        base.size());
            } catch (IOException e) {
                err.println("q2: can't open device " + spec.name() + ": Could not create temporary overlay: "
                        + e.getMessage());
                return null;
            }
            d = opener.open(overlay.toString(), "qcow2", options, spec.readOnly(), false, err);
            if (d == null) {
                deleteQuietly(overlay);
                return null;
            }
        } else {
            d = opener.open(spec.name(), spec.format(), options, spec.readOnly(), spec.forceShare(), err);
            if (d == null) {
                return null;
            }
        }
        GuestDisk done = finish(d, spec, lazy, err);
        if (done == null) {
            if (overlay != null) {
                deleteQuietly(overlay);
            }
            return null;
        }
        return new Opened(done, overlay);
    }

    /** Opens snapshot mode's {@code overlay} again (reopen, truncate); null (reported) if it cannot. */
    static GuestDisk reopenOverlay(IoScript.Opener opener, Path overlay, OpenSpec spec, PrintWriter err) {
        Map<String, String> options = new LinkedHashMap<>(spec.options());
        String lazy = options.remove("lazy-refcounts");
        GuestDisk d = opener.open(overlay.toString(), "qcow2", options, spec.readOnly(), false, err);
        return d == null ? null : finish(d, spec, lazy, err);
    }

    private static GuestDisk finish(GuestDisk d, OpenSpec spec, String lazy, PrintWriter err) {
        if (lazy != null) {
            try {
                if (d.qcow2() == null) {
                    throw new ImageException("Block format '" + d.format()
                            + "' does not support the option 'lazy-refcounts'");
                }
                d.qcow2().useLazyRefcounts(lazy.equals("on"));
            } catch (ImageException e) {
                err.println("q2: can't open device " + spec.name() + ": " + e.getMessage());
                closeQuietly(d);
                return null;
            }
        }
        return spec.copyOnRead() && d.qcow2() != null ? GuestDisk.of(d.qcow2(), true) : d;
    }

    /** QEMU's temporary overlay: a qcow2 image with the default options, as large as the image. */
    private static Path createOverlay(Path image, String format, long size) throws IOException {
        String tmp = System.getenv("TMPDIR");
        Path dir = Path.of(tmp != null && !tmp.isEmpty() ? tmp : "/var/tmp");
        Path overlay = Files.createTempFile(dir, "vl.", "");
        try {
            Qcow2Creator.create(overlay, new CreateSpec(size, 16, 3, false, 4, false, Preallocation.OFF, 0,
                    image.toString(), format, null, false));
        } catch (IOException | RuntimeException e) {
            deleteQuietly(overlay);
            throw e;
        }
        return overlay;
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // left behind, as QEMU leaves a temporary overlay it cannot delete
        }
    }

    private static void closeQuietly(GuestDisk d) {
        try {
            d.close();
        } catch (IOException e) {
            // the open failed: its error is the one reported
        }
    }
}
