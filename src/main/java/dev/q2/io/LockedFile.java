package dev.q2.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A file opened together with the QEMU locks a command holds on it ({@link QemuLock}), or with none (a read-only
 * open with force-share); closing it releases the locks, then closes the file. Not thread-safe.
 *
 * @param file the open file
 * @param lock the locks held, or null
 */
public record LockedFile(ImageFile file, QemuLock lock) implements AutoCloseable {
    /**
     * Opens {@code path} and locks it; the file is closed again when the lock cannot be taken.
     *
     * @param path the file
     * @param writable whether to open it for writing
     * @param perms the permissions used ({@code QemuLock.PERM_*})
     * @param sharedPerms the permissions shared with other processes
     * @return the open, locked file
     * @throws IOException when it cannot be opened, or another process's lock conflicts
     *                     ({@link QemuLock.LockConflictException})
     */
    public static LockedFile open(Path path, boolean writable, int perms, int sharedPerms) throws IOException {
        ImageFile f = writable ? ImageFile.openReadWrite(path) : ImageFile.openReadOnly(path);
        try {
            return new LockedFile(f, QemuLock.acquire(f.channel(), path, perms, sharedPerms));
        } catch (IOException | RuntimeException e) {
            f.close();
            throw e;
        }
    }

    /**
     * Opens {@code path} read-only without taking locks (force-share).
     *
     * @param path the file
     * @return the open file
     * @throws IOException when it cannot be opened
     */
    public static LockedFile openUnlocked(Path path) throws IOException {
        return new LockedFile(ImageFile.openReadOnly(path), null);
    }

    /**
     * Opens {@code path} without taking locks, for writing too when {@code writable} (locking=off, or a character
     * device, whose bytes no other process's lock can guard).
     *
     * @param path the file
     * @param writable whether to open it for writing
     * @return the open file
     * @throws IOException when it cannot be opened
     */
    public static LockedFile openUnlocked(Path path, boolean writable) throws IOException {
        return new LockedFile(writable ? ImageFile.openReadWrite(path) : ImageFile.openReadOnly(path), null);
    }

    @Override
    public void close() throws IOException {
        try {
            if (lock != null) {
                lock.close();
            }
        } finally {
            file.close();
        }
    }
}
