package dev.q2.io;

import dev.q2.Q2Exception;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * QEMU's image locking protocol (block/file-posix.c): a process that uses permission bit i holds a shared lock on
 * byte 100+i of the image file, and one that refuses to share permission i holds a shared lock on byte 200+i.
 * Before taking its locks a process checks that nobody refuses what it wants and nobody holds what it refuses.
 *
 * <p>QEMU tests with F_OFD_GETLK, which Java does not offer; q2 makes the same test through its JNI helper
 * ({@link NativeFiles#lockTest}). Where the helper is missing, or the test finds one of this process's own locks
 * (an image opened twice), q2 reads the kernel's lock list (/proc/locks) instead, which sees QEMU's OFD locks and
 * other processes' POSIX locks alike. Both work without write access to the file. /proc/locks is only the fallback
 * because reading it from a multi-threaded process such as a JVM costs the kernel 5-15 ms.
 * The locks q2 takes are POSIX locks from {@link FileChannel#lock}; the kernel makes those conflict with QEMU's OFD
 * locks, so QEMU sees them.
 *
 * <p>QEMU also sees its own locks: OFD locks belong to a descriptor, so an image it opens twice (a convert target
 * that is the source, or one of the source's backing files) conflicts with itself. The kernel hides a process's
 * own POSIX locks from it, so q2 keeps a list of the holds of this JVM and tests against it as well. While this
 * JVM holds a file, the native test is skipped for it: closing the descriptor it opens would drop every POSIX lock
 * of this process on the file.
 */
public final class QemuLock implements AutoCloseable {
    /** QEMU's BLK_PERM_CONSISTENT_READ: reads see consistent data. */
    public static final int PERM_CONSISTENT_READ = 0x01;
    /** QEMU's BLK_PERM_WRITE: writes that change the data. */
    public static final int PERM_WRITE = 0x02;
    /** QEMU's BLK_PERM_WRITE_UNCHANGED: writes that leave the guest-visible data unchanged. */
    public static final int PERM_WRITE_UNCHANGED = 0x04;
    /** QEMU's BLK_PERM_RESIZE: changing the file's size. */
    public static final int PERM_RESIZE = 0x08;
    /** All of the above. */
    public static final int PERM_ALL = 0x0f;
    private static final String[] NAMES = {"consistent read", "write", "write unchanged", "resize"};
    private static final int PERM_BASE = 100;
    private static final int SHARED_BASE = 200;

    /** The holds of this JVM whose channels are open (guarded by itself). */
    private static final List<QemuLock> HELD = new ArrayList<>();

    private final List<FileLock> locks;
    private final FileChannel channel;
    private final Object fileKey; // device and inode; null where the file system has none
    private final int perms;
    private final int sharedPerms;

    private QemuLock(List<FileLock> locks, FileChannel channel, Object fileKey, int perms, int sharedPerms) {
        this.locks = locks;
        this.channel = channel;
        this.fileKey = fileKey;
        this.perms = perms;
        this.sharedPerms = sharedPerms;
    }

    /**
     * Thrown when another process holds the image in a way that conflicts with this use; a {@link Q2Exception} of
     * category {@link Q2Exception.Category#LOCKED}.
     */
    public static final class LockConflictException extends Q2Exception {
        private static final long serialVersionUID = 1L;
        /** QEMU's words for the conflict. */
        private final String reason;
        /** The file (not serialized: a Path is not serializable). */
        private final transient Path path;

        /**
         * A conflict on a file.
         *
         * @param reason QEMU's words for the conflict, e.g. {@code Failed to get shared "write" lock}
         * @param path the file
         */
        public LockConflictException(String reason, Path path) {
            super(Category.LOCKED, reason + ": is another process using the image [" + path + "]?");
            this.reason = reason;
            this.path = path;
        }

        /**
         * QEMU's words for the conflict alone.
         *
         * @return e.g. {@code Failed to get shared "write" lock}
         */
        public String reason() {
            return reason;
        }

        /**
         * QEMU's two lines for the conflict, naming the image {@code name} (as the user named it).
         *
         * @param name the image's name
         * @return the two lines
         */
        public String qemuLines(String name) {
            return reason + "\nIs another process using the image [" + name + "]?";
        }

        /**
         * QEMU's two lines, naming the image by the path it was checked under.
         *
         * @return the two lines
         */
        public String qemuLines() {
            return qemuLines(path.toString());
        }
    }

    /**
     * Checks for conflicts and takes the locks for using {@code perms} while sharing {@code sharedPerms}, as
     * qemu-img does. The channel must be readable; the locks are shared locks.
     *
     * @param channel the open file
     * @param path its path (for the conflict test and messages)
     * @param perms the permissions used (PERM_ bits)
     * @param sharedPerms the permissions other users may have
     * @return the hold; closing it releases the locks
     * @throws IOException a {@link LockConflictException} on a conflict
     */
    public static QemuLock acquire(FileChannel channel, Path path, int perms, int sharedPerms) throws IOException {
        synchronized (HELD) {
            check(path, perms, sharedPerms);
            QemuLock lock = new QemuLock(take(channel, perms, sharedPerms), channel, fileKey(path), perms,
                    sharedPerms);
            if (lock.fileKey != null) {
                HELD.add(lock);
            }
            return lock;
        }
    }

    private static List<FileLock> take(FileChannel channel, int perms, int sharedPerms) throws IOException {
        List<FileLock> taken = new ArrayList<>();
        try {
            for (int i = 0; i < NAMES.length; i++) {
                if ((perms & (1 << i)) != 0) {
                    taken.add(channel.lock(PERM_BASE + i, 1, true));
                }
                if ((sharedPerms & (1 << i)) == 0) {
                    taken.add(channel.lock(SHARED_BASE + i, 1, true));
                }
            }
        } catch (OverlappingFileLockException e) {
            // This JVM already holds the image (e.g. a backing file opened twice); its own locks already apply.
        }
        return taken;
    }

    /**
     * Refuses if another process, or another open image of this JVM, holds {@code path} in a way that conflicts
     * with the given use.
     *
     * @param path the file
     * @param perms the permissions used
     * @param sharedPerms the permissions other users may have
     * @throws IOException a {@link LockConflictException} on a conflict
     */
    public static void check(Path path, int perms, int sharedPerms) throws IOException {
        int[] wanted = wantedBytes(perms, sharedPerms);
        boolean[] here;
        synchronized (HELD) {
            here = heldInThisJvm(path, wanted);
        }
        boolean[] held = here == null ? testNatively(path, wanted) : null;
        if (held == null) {
            held = testProcLocks(path, wanted);
        }
        for (int k = 0; k < wanted.length; k++) {
            if (held[k] || (here != null && here[k])) {
                String kind = wanted[k] >= SHARED_BASE ? "" : "shared ";
                throw new LockConflictException("Failed to get " + kind + "\"" + NAMES[wanted[k] % 100]
                        + "\" lock", path);
            }
        }
    }

    /**
     * The lock bytes to test, in QEMU's order: the "unshared" bytes of the permissions wanted, then the
     * permission bytes of those refused to others.
     */
    static int[] wantedBytes(int perms, int sharedPerms) {
        int[] bytes = new int[2 * NAMES.length];
        int n = 0;
        for (int i = 0; i < NAMES.length; i++) {
            if ((perms & (1 << i)) != 0) {
                bytes[n++] = SHARED_BASE + i;
            }
        }
        for (int i = 0; i < NAMES.length; i++) {
            if ((sharedPerms & (1 << i)) == 0) {
                bytes[n++] = PERM_BASE + i;
            }
        }
        return java.util.Arrays.copyOf(bytes, n);
    }

    /**
     * Tests each byte with F_OFD_GETLK as QEMU does (would an exclusive lock conflict?). Null when the native
     * helper is unavailable or cannot answer for certain, so the caller reads /proc/locks.
     */
    static boolean[] testNatively(Path path, int[] bytes) {
        if (!NativeFiles.available()) {
            return null;
        }
        int fd = NativeFiles.open(path);
        if (fd < 0) {
            return null;
        }
        try {
            boolean[] held = new boolean[bytes.length];
            long self = -2;
            for (int k = 0; k < bytes.length; k++) {
                int r = NativeFiles.lockTest(fd, bytes[k], 1, true);
                if (r > 0) {
                    if (self == -2) {
                        self = ProcessHandle.current().pid();
                    }
                    if (r == self) {
                        return null; // our own lock hides whether another process holds one too
                    }
                } else if (r < -1) {
                    return null; // e.g. a kernel without OFD locks
                }
                held[k] = r != 0;
            }
            return held;
        } catch (UnsatisfiedLinkError e) {
            return null; // a helper library older than this class
        } finally {
            NativeFiles.close(fd);
        }
    }

    /** The same test as {@link #testNatively}, answered from /proc/locks. */
    static boolean[] testProcLocks(Path path, int[] bytes) throws IOException {
        List<long[]> ranges = heldByOthers(path);
        boolean[] held = new boolean[bytes.length];
        for (int k = 0; k < bytes.length; k++) {
            held[k] = covers(ranges, bytes[k]);
        }
        return held;
    }

    /**
     * Which of the lock bytes {@code wanted} the open images of this JVM hold on {@code path}: null when they hold
     * none of it.
     */
    private static boolean[] heldInThisJvm(Path path, int[] wanted) {
        // a loop, not removeIf with a lambda: on JDK 17 the first lambda of a run bootstraps java.lang.invoke
        // (about 75 classes and a class spun with ASM), a start-up cost of every command (docs/performance.md)
        for (java.util.Iterator<QemuLock> it = HELD.iterator(); it.hasNext(); ) {
            if (!it.next().channel.isOpen()) {
                it.remove();
            }
        }
        if (HELD.isEmpty()) {
            return null;
        }
        Object key = fileKey(path);
        boolean[] held = null;
        for (QemuLock h : HELD) {
            if (key == null || !key.equals(h.fileKey)) {
                continue;
            }
            if (held == null) {
                held = new boolean[wanted.length];
            }
            for (int k = 0; k < wanted.length; k++) {
                int bit = 1 << (wanted[k] % 100);
                held[k] |= wanted[k] >= SHARED_BASE ? (h.sharedPerms & bit) == 0 : (h.perms & bit) != 0;
            }
        }
        return held;
    }

    private static Object fileKey(Path path) {
        try {
            return Files.readAttributes(path, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    /**
     * Refuses if creating an image at {@code path} would conflict with a process (or an open image of this JVM)
     * using the file there, as QEMU's file driver checks before it truncates: it wants "write" and "resize" and
     * shares all but "resize".
     *
     * @param path the file
     * @throws IOException a {@link LockConflictException} on a conflict
     */
    public static void checkCanCreate(Path path) throws IOException {
        if (Files.exists(path)) {
            check(path, PERM_WRITE | PERM_RESIZE, PERM_ALL & ~PERM_RESIZE);
        }
    }

    /**
     * Refuses to overwrite an existing image that another process uses (as a writer would).
     *
     * @param path the file
     * @throws IOException a {@link LockConflictException} on a conflict
     */
    public static void checkNotInUse(Path path) throws IOException {
        if (Files.exists(path)) {
            check(path, PERM_CONSISTENT_READ | PERM_WRITE | PERM_RESIZE, PERM_CONSISTENT_READ | PERM_WRITE_UNCHANGED);
        }
    }

    private static boolean covers(List<long[]> ranges, long b) {
        for (long[] r : ranges) {
            if (b >= r[0] && (r[1] < 0 || b <= r[1])) {
                return true;
            }
        }
        return false;
    }

    /**
     * Byte ranges [start, end] (end -1 = EOF) locked on this file by other processes, from /proc/locks. Start-up
     * matters here (every read-only command calls this): the file is read as bytes and only lines that mention the
     * image's inode are parsed, so the usual case, no lock on the image, costs one read and one scan.
     */
    static List<long[]> heldByOthers(Path path) throws IOException {
        List<long[]> out = new ArrayList<>();
        byte[] text;
        try (java.io.FileInputStream in = new java.io.FileInputStream("/proc/locks")) {
            text = in.readAllBytes();
        } catch (IOException e) {
            return out; // not Linux: no way to test without write access; QEMU would be on its own too
        }
        long ino;
        long dev;
        try {
            java.util.Map<String, Object> a = Files.readAttributes(path, "unix:ino,dev");
            ino = ((Number) a.get("ino")).longValue();
            dev = ((Number) a.get("dev")).longValue();
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return out;
        }
        byte[] needle = (":" + ino + " ").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        // Linux dev_t encoding: major in bits 8-19 and 32-43, minor in bits 0-7 and 20-31.
        long major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
        long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
        String self = null;
        int lineStart = 0;
        for (int k = 0; k <= text.length; k++) {
            if (k < text.length && text[k] != '\n') {
                continue;
            }
            if (contains(text, lineStart, k, needle)) {
                String line = new String(text, lineStart, k - lineStart, java.nio.charset.StandardCharsets.US_ASCII);
                if (self == null) {
                    self = Long.toString(ProcessHandle.current().pid());
                }
                long[] range = parse(line, major, minor, ino, self);
                if (range != null) {
                    out.add(range);
                }
            }
            lineStart = k + 1;
        }
        return out;
    }

    private static boolean contains(byte[] text, int from, int to, byte[] needle) {
        outer:
        for (int i = from; i + needle.length <= to; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (text[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /** One /proc/locks line ("1: OFDLCK ADVISORY READ -1 fd:01:1234 100 100"); null unless it is a lock to honour. */
    private static long[] parse(String line, long major, long minor, long ino, String self) {
        String[] f = line.trim().split("\\s+");
        if (f.length < 8 || f[1].equals("->")) {
            return null; // blocked waiters hold nothing yet
        }
        String[] id = f[5].split(":");
        if (id.length != 3) {
            return null;
        }
        try {
            if (Long.parseLong(id[0], 16) != major || Long.parseLong(id[1], 16) != minor
                    || Long.parseLong(id[2]) != ino) {
                return null;
            }
            if (f[1].equals("POSIX") && f[4].equals(self)) {
                return null; // our own locks
            }
            long start = Long.parseLong(f[6]);
            long end = f[7].equals("EOF") ? -1 : Long.parseLong(f[7]);
            return new long[] {start, end};
        } catch (NumberFormatException e) {
            return null; // a line we do not understand is not a lock we can honour
        }
    }

    @Override
    public void close() throws IOException {
        synchronized (HELD) {
            HELD.remove(this);
        }
        for (FileLock l : locks) {
            if (l.isValid()) {
                l.release();
            }
        }
    }
}
