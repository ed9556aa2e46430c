package dev.q2.testutil;

import dev.q2.format.QcowHeader;
import dev.q2.image.Qcow2Metadata;
import dev.q2.image.RefcountAllocator;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The crash tests' harness: copies of an image file taken at each sync point of an operation (after the flush, as a
 * crash there would leave the file), named crash0.qcow2, crash1.qcow2, ... in the test's folder, and the verdict most
 * of those tests give on each copy.
 */
public final class CrashCopies {
    private final Path dir;
    private final Path image;
    private final List<Path> copies = new ArrayList<>();

    /** Copies of {@code image} to be taken into {@code dir}. */
    public CrashCopies(Path dir, Path image) {
        this.dir = dir;
        this.image = image;
    }

    /** A sync point: flushes {@code file} (the open image) and copies the image file as it is now. */
    public void take(ImageFile file) throws IOException {
        file.flush();
        Path copy = dir.resolve("crash" + copies.size() + ".qcow2");
        Files.copy(image, copy, StandardCopyOption.REPLACE_EXISTING);
        copies.add(copy);
    }

    /**
     * Runs {@code action} with a copy of the image file taken at every sync of any image q2 syncs (ImageFile's test
     * hook), named crash0.qcow2, crash1.qcow2, ... in {@code dir} and added to {@code copies} in order.
     *
     * @return what the action returned
     */
    public static <T> T atEverySync(Path dir, List<Path> copies, java.util.function.Supplier<T> action) {
        ImageFile.syncHookForTests(p -> {
            Path copy = dir.resolve("crash" + copies.size() + ".qcow2");
            try {
                Files.copy(p, copy, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            copies.add(copy);
        });
        try {
            return action.get();
        } finally {
            ImageFile.syncHookForTests(null);
        }
    }

    /** The copies taken so far, in order (a live list: a test may add the finished image to it). */
    public List<Path> copies() {
        return copies;
    }

    /** A refcount allocator over an open image's own refcount table, as the engine makes one. */
    public static RefcountAllocator refcounts(ImageFile file, Qcow2Metadata image) {
        QcowHeader h = image.header();
        return new RefcountAllocator(file, h.clusterBits(), h.refcountOrder(), h.refcountTableOffset(),
                image.refcountTable());
    }

    /**
     * Every image in {@code images} (in {@code dir}) is repaired by {@code qemu-img check -r all} (exit 0) to an image
     * that qemu-img check finds clean, and reads the guest data that {@code dir}/before.raw holds: its first
     * {@code length} bytes, or all of it, the size included, when {@code length} is negative.
     */
    public static void assertRepairedKeepingData(Path dir, List<Path> images, long length, String what)
            throws IOException {
        for (Path c : images) {
            String name = c.getFileName().toString();
            repairToClean(dir, name, what);
            Files.deleteIfExists(dir.resolve("after.raw"));
            Qemu.ok(Qemu.img(dir, "convert", "-O", "raw", name, "after.raw"));
            Path before = dir.resolve("before.raw");
            Path after = dir.resolve("after.raw");
            long mismatch = length < 0 ? Files.mismatch(before, after) : prefixMismatch(before, after, length);
            assertThat(mismatch).as(what + " " + name).isEqualTo(-1L);
        }
    }

    /** {@code qemu-img check -r all} repairs {@code name} (in {@code dir}; exit 0) to an image qemu-img finds clean. */
    public static void repairToClean(Path dir, String name, String what) {
        Qemu.Result repair = Qemu.img(dir, "check", "-r", "all", name);
        assertThat(repair.exitCode()).as(what + " " + name + ": " + repair.out() + repair.err()).isZero();
        Qemu.ok(Qemu.img(dir, "check", name));
    }

    /** {@link #repairToClean} the copy, then its guest data as qemu-img reads it (through dir/raw). */
    public static byte[] repairedGuestData(Path dir, Path copy) throws IOException {
        String name = copy.getFileName().toString();
        repairToClean(dir, name, "copy");
        Files.deleteIfExists(dir.resolve("raw"));
        Qemu.ok(Qemu.img(dir, "convert", "-O", "raw", name, "raw"));
        return Files.readAllBytes(dir.resolve("raw"));
    }

    /** The first differing byte of the first {@code length} bytes, or -1. */
    private static long prefixMismatch(Path a, Path b, long length) throws IOException {
        try (InputStream x = Files.newInputStream(a); InputStream y = Files.newInputStream(b)) {
            byte[] bx = new byte[1 << 16];
            byte[] by = new byte[1 << 16];
            for (long pos = 0; pos < length; pos += bx.length) {
                int n = (int) Math.min(bx.length, length - pos);
                if (x.readNBytes(bx, 0, n) != n || y.readNBytes(by, 0, n) != n) {
                    return pos;
                }
                if (!Arrays.equals(bx, 0, n, by, 0, n)) {
                    return pos;
                }
            }
            return -1;
        }
    }
}
