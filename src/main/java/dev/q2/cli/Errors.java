package dev.q2.cli;

import dev.q2.image.ImageException;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/** One-line descriptions of failures for the user, in the words qemu-img uses where it has words for them. */
final class Errors {
    private Errors() {
    }

    static String describe(Throwable t) {
        if (t instanceof dev.q2.io.QemuLock.LockConflictException) {
            return twoLines(t.getMessage());
        }
        if (t instanceof NoSuchFileException) {
            return "No such file or directory";
        }
        if (t instanceof AccessDeniedException) {
            return "Permission denied";
        }
        if (t instanceof FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        if ((t instanceof IOException || t instanceof ImageException) && t.getMessage() != null) {
            return t.getMessage(); // q2's own words; a lock conflict takes two lines, as in QEMU
        }
        String m = t.getMessage();
        return m == null ? t.getClass().getSimpleName() : m.replace('\n', ' ');
    }

    /**
     * qemu-img's words for a lock conflict ({@link dev.q2.io.QemuLock.LockConflictException}): two lines, the image
     * named as the user named it.
     */
    static String lockConflict(String filename, Throwable t) {
        String m = t.getMessage() == null ? "" : t.getMessage();
        int end = m.indexOf(" lock");
        if (!m.startsWith("Failed to get ") || end < 0) {
            return m;
        }
        return m.substring(0, end + 5) + "\nIs another process using the image [" + filename + "]?";
    }

    /** QemuLock's one-line message ("... lock: is another process using the image [F]?") in QEMU's two lines. */
    private static String twoLines(String m) {
        int end = m == null ? -1 : m.indexOf(" lock: is another process");
        if (end < 0) {
            return m;
        }
        return m.substring(0, end + 5) + "\nIs" + m.substring(end + 9);
    }

    /** "Could not open 'x': reason", as qemu-img says it (a lock conflict names the image as the user did). */
    static String couldNotOpen(String filename, Throwable t) {
        if (t instanceof dev.q2.io.QemuLock.LockConflictException) {
            return "Could not open '" + filename + "': " + lockConflict(filename, t);
        }
        return "Could not open '" + filename + "': " + describe(t);
    }
}
