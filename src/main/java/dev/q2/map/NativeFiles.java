package dev.q2.map;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The few system calls q2 map needs that Java 17 lacks: {@code lseek(SEEK_DATA/SEEK_HOLE)}, which QEMU's file-posix
 * driver uses to tell holes from data, and {@code st_blocks}, which QEMU's qcow2 driver uses to detect metadata
 * preallocation. They come from a tiny JNI library (src/main/native) shipped inside the jar for Linux x86-64. Where it
 * cannot be loaded, {@link #available()} is false and callers behave as QEMU does on a file system that cannot report
 * holes.
 */
final class NativeFiles {
    private static final boolean AVAILABLE = load();

    private NativeFiles() {
    }

    /** errno values the callers tell apart. */
    static final int ENXIO = 6;

    private static boolean load() {
        String os = System.getProperty("os.name", "");
        String arch = System.getProperty("os.arch", "");
        if (!os.equals("Linux") || Boolean.getBoolean("q2.noNative")) {
            return false;
        }
        String resource = "native/linux-" + arch + "/libq2seek.so";
        try (InputStream in = NativeFiles.class.getResourceAsStream(resource)) {
            if (in == null) {
                return false;
            }
            Path tmp = Files.createTempFile("q2seek", ".so");
            try {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                System.load(tmp.toAbsolutePath().toString());
            } finally {
                Files.deleteIfExists(tmp); // the loaded library stays mapped
            }
            return true;
        } catch (IOException | UnsatisfiedLinkError | SecurityException e) {
            return false;
        }
    }

    static boolean available() {
        return AVAILABLE;
    }

    /** Opens a file read-only; a negative errno on failure. */
    static int open(Path path) {
        return open0(path.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** lseek(fd, offset, SEEK_DATA); a negative errno on failure. */
    static long seekData(int fd, long offset) {
        return seek0(fd, offset, true);
    }

    /** lseek(fd, offset, SEEK_HOLE); a negative errno on failure. */
    static long seekHole(int fd, long offset) {
        return seek0(fd, offset, false);
    }

    /** st_blocks × 512; a negative errno on failure. */
    static long allocatedBytes(int fd) {
        return allocated0(fd);
    }

    static void close(int fd) {
        close0(fd);
    }

    private static native int open0(byte[] path);

    private static native long seek0(int fd, long offset, boolean data);

    private static native long allocated0(int fd);

    private static native void close0(int fd);
}
