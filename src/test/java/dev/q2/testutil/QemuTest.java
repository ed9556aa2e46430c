package dev.q2.testutil;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/**
 * Base of the tests that make their images with qemu-img and qemu-io in one temporary folder, {@link #dir}: each is
 * skipped unless qemu-img 7.2 is on PATH (failed instead under {@code Q2_REQUIRE_QEMU=1}, see
 * {@link Qemu#assumeAvailable()}), and every qemu-img or qemu-io run that makes an input must succeed.
 */
@Tag("qemu")
public abstract class QemuTest {
    /** The test's folder: qemu-img and qemu-io run in it. */
    @TempDir
    protected Path dir;

    @BeforeEach
    void needQemu() {
        Qemu.assumeAvailable();
    }

    /** Runs qemu-img in {@link #dir}; it must succeed. */
    protected Qemu.Result img(String... args) {
        return Qemu.imgOk(dir, args);
    }

    /** Runs qemu-io on {@code image} in {@link #dir}, each command with -c; it must succeed. */
    protected Qemu.Result io(String image, String... commands) {
        return Qemu.ioOk(dir, image, commands);
    }

    /** The eight bytes at {@code at} of {@code file} (in {@link #dir}), big-endian. */
    protected long readLong(String file, long at) {
        return ImageBytes.readLong(dir.resolve(file), at);
    }

    /** Overwrites the eight bytes at {@code at} of {@code file} (in {@link #dir}) with {@code value}. */
    protected void patchLong(String file, long at, long value) {
        ImageBytes.writeLong(dir.resolve(file), at, value);
    }

    /** The host offset of the first L2 table of {@code file} (in {@link #dir}). */
    protected long firstL2Table(String file) {
        return ImageBytes.firstL2Table(dir.resolve(file));
    }

    /** {@code r}, which must have exited 0. */
    protected static Qemu.Result ok(Qemu.Result r) {
        return Qemu.ok(r);
    }
}
