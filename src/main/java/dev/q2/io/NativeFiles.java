package dev.q2.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.zip.CRC32;

/**
 * The few system calls q2 needs that Java 17 lacks: {@code lseek(SEEK_DATA/SEEK_HOLE)}, which QEMU's file-posix
 * driver uses to tell holes from data, {@code st_blocks}, which QEMU's qcow2 driver uses to detect metadata
 * preallocation, {@code fcntl(F_OFD_GETLK)} for QEMU's locks, and {@code fallocate(FALLOC_FL_PUNCH_HOLE)}, with
 * which QEMU's file-posix driver writes zeros it may unmap. They come from a tiny JNI library (src/main/native)
 * shipped inside the jar for Linux x86-64. Where it cannot be loaded, {@link #available()} is false and callers behave
 * as QEMU does on a file system that cannot report holes.
 *
 * <p>Internal to q2 (public only because other q2 packages call it); library users have no need of it. The methods
 * are thread-safe system calls.
 */
public final class NativeFiles {
    private static final boolean AVAILABLE = load();

    private NativeFiles() {
    }

    /** errno values the callers tell apart. */
    public static final int ENXIO = 6;

    private static boolean load() {
        String os = System.getProperty("os.name", "");
        String arch = System.getProperty("os.arch", "");
        if (!os.equals("Linux") || Boolean.getBoolean("q2.noNative")) {
            return false;
        }
        // ./q2 names the folder where Maven put the library beside the jar (target/classes/dev/q2/io/native);
        // loading it from there saves reading it out of the jar and comparing it with the extracted copy.
        String dir = System.getProperty("q2.nativeDir");
        Path given = dir == null ? null
                : Path.of(dir, new StringBuilder("linux-").append(arch).toString(), "libq2seek.so");
        if (given != null && Files.isRegularFile(given)) {
            try {
                System.load(given.toString());
                return true;
            } catch (UnsatisfiedLinkError | SecurityException e) {
                // fall through to the copy inside the jar
            }
        }
        // No string concatenation or temp-file API here: both cost start-up time (invokedynamic bootstrap,
        // SecureRandom) that a short command notices.
        String resource = new StringBuilder("native/linux-").append(arch).append("/libq2seek.so").toString();
        try (InputStream in = NativeFiles.class.getResourceAsStream(resource)) {
            if (in == null) {
                return false;
            }
            byte[] lib = in.readAllBytes();
            CRC32 crc = new CRC32();
            crc.update(lib);
            // Extracted once per user and library version into a private folder; later runs load it directly.
            Path folder = cacheFolder();
            Path target = folder.resolve(new StringBuilder("libq2seek-").append(Long.toHexString(crc.getValue()))
                    .append('-').append(lib.length).append(".so").toString());
            if (!Files.isRegularFile(target) || !Arrays.equals(Files.readAllBytes(target), lib)) {
                Files.createDirectories(folder);
                Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("rwx------"));
                Path part = folder.resolve(new StringBuilder(target.getFileName().toString()).append('.')
                        .append(ProcessHandle.current().pid()).append(".part").toString());
                Files.write(part, lib);
                Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
            System.load(target.toAbsolutePath().toString());
            return true;
        } catch (IOException | UnsupportedOperationException | UnsatisfiedLinkError | SecurityException e) {
            return false;
        }
    }

    /** $XDG_CACHE_HOME/q2 or ~/.cache/q2, else a per-user folder in the temporary directory. */
    private static Path cacheFolder() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && xdg.startsWith("/")) {
            return Path.of(xdg, "q2");
        }
        String home = System.getProperty("user.home");
        if (home != null && !home.isEmpty() && Files.isWritable(Path.of(home))) {
            return Path.of(home, ".cache", "q2");
        }
        return Path.of(System.getProperty("java.io.tmpdir"),
                new StringBuilder("q2-").append(System.getProperty("user.name", "user")).toString());
    }

    /**
     * Whether the JNI helper loaded.
     *
     * @return true when the other methods work
     */
    public static boolean available() {
        return AVAILABLE;
    }

    /**
     * Opens a file read-only.
     *
     * @param path the file
     * @return the descriptor, or a negative errno on failure
     */
    public static int open(Path path) {
        return open0(path.toString().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * lseek(fd, offset, SEEK_DATA).
     *
     * @param fd a descriptor from {@link #open}
     * @param offset where to start
     * @return the next data offset, or a negative errno on failure
     */
    public static long seekData(int fd, long offset) {
        return seek0(fd, offset, true);
    }

    /**
     * lseek(fd, offset, SEEK_HOLE).
     *
     * @param fd a descriptor from {@link #open}
     * @param offset where to start
     * @return the next hole offset, or a negative errno on failure
     */
    public static long seekHole(int fd, long offset) {
        return seek0(fd, offset, false);
    }

    /**
     * st_blocks × 512.
     *
     * @param fd a descriptor from {@link #open}
     * @return allocated bytes, or a negative errno on failure
     */
    public static long allocatedBytes(int fd) {
        return allocated0(fd);
    }

    /**
     * st_blocks × 512 of the file at {@code path} (following links); a negative errno on failure. Unlike
     * {@link #allocatedBytes(int)} after {@link #open}, it opens no descriptor, whose closing would drop this
     * process's POSIX locks on the file.
     *
     * @param path the file
     * @return allocated bytes, or a negative errno on failure
     */
    public static long allocatedBytesAt(Path path) {
        return allocatedAt0(path.toString().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * fcntl(F_OFD_GETLK): would a lock (exclusive or shared) on {@code [start, start + len)} conflict with one held
     * through another open file description?
     *
     * @param fd a descriptor from {@link #open}
     * @param start first byte
     * @param len byte count
     * @param exclusive whether to test an exclusive lock (else shared)
     * @return 0 if not; the holder's pid for a POSIX lock; -1 for an OFD lock (the kernel does not say whose); below
     *     -1 on failure (-errno - 1)
     */
    public static int lockTest(int fd, long start, long len, boolean exclusive) {
        return lockTest0(fd, start, len, exclusive);
    }

    /**
     * fallocate(PUNCH_HOLE | KEEP_SIZE) on the file open as {@code fd}: the range reads as zeros and its whole
     * blocks are deallocated; the file's size stays.
     *
     * @param fd the file's descriptor
     * @param offset where the range starts
     * @param length its length
     * @return 0, or a negative errno on failure
     */
    public static int punchHole(java.io.FileDescriptor fd, long offset, long length) {
        return punchHole0(fd, offset, length);
    }

    /**
     * Closes a descriptor from {@link #open}.
     *
     * @param fd the descriptor
     */
    public static void close(int fd) {
        close0(fd);
    }

    private static native int open0(byte[] path);

    private static native long seek0(int fd, long offset, boolean data);

    private static native long allocated0(int fd);

    private static native long allocatedAt0(byte[] path);

    private static native int lockTest0(int fd, long start, long len, boolean exclusive);

    private static native int punchHole0(java.io.FileDescriptor fd, long offset, long length);

    private static native void close0(int fd);

    private static native int deflate0(byte[] src, int len, byte[] dst);

    private static native int zstdCompress0(byte[] src, int len, byte[] dst);

    /** Whether {@link #zstdCompress} works here (the helper loaded, has it, and the system has libzstd.so.1). */
    private static volatile boolean zstdWorks = true;

    /**
     * Compresses {@code src[0..len)} into {@code dst} as QEMU's qcow2 driver does (the system's libzstd, one frame at
     * the default level, written by one streaming call).
     *
     * @param src the bytes to compress
     * @param len how many of them
     * @param dst where the compressed bytes go
     * @return the length, -1 when it does not fit, or -3 when the helper cannot (then use zstd-jni)
     */
    public static int zstdCompress(byte[] src, int len, byte[] dst) {
        if (!AVAILABLE || !zstdWorks) {
            return -3;
        }
        try {
            int n = zstdCompress0(src, len, dst);
            if (n == -3) {
                zstdWorks = false;
            }
            return n == -2 ? -3 : n;
        } catch (UnsatisfiedLinkError e) { // an older helper without it
            zstdWorks = false;
            return -3;
        }
    }

    /** Whether {@link #deflate} works here (the helper loaded, and it is one that has it). */
    private static volatile boolean deflateWorks = true;

    /**
     * Compresses {@code src[0..len)} into {@code dst} as QEMU's qcow2 driver does (the system's zlib, raw deflate,
     * 4 KiB window).
     *
     * @param src the bytes to compress
     * @param len how many of them
     * @param dst where the compressed bytes go
     * @return the length, -1 when it does not fit, or -3 when the helper cannot (then use a Java codec)
     */
    public static int deflate(byte[] src, int len, byte[] dst) {
        if (!AVAILABLE || !deflateWorks) {
            return -3;
        }
        try {
            int n = deflate0(src, len, dst);
            return n == -2 ? -3 : n;
        } catch (UnsatisfiedLinkError e) { // an older helper without it
            deflateWorks = false;
            return -3;
        }
    }
}
