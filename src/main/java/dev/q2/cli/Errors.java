package dev.q2.cli;

import dev.q2.image.ImageException;
import dev.q2.io.QemuLock.LockConflictException;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/** Descriptions of failures for the user, in the words qemu-img uses where it has words for them. */
final class Errors {
    private Errors() {
    }

    static String describe(Throwable t) {
        if (t instanceof LockConflictException lock) {
            return lock.qemuLines();
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
            return t.getMessage(); // q2's own words
        }
        String m = t.getMessage();
        return m == null ? t.getClass().getSimpleName() : m.replace('\n', ' ');
    }

    /** "Could not open 'x': reason", as qemu-img says it (a lock conflict names the image as the user did). */
    static String couldNotOpen(String filename, Throwable t) {
        if (t instanceof LockConflictException lock) {
            return "Could not open '" + filename + "': " + lock.qemuLines(filename);
        }
        return "Could not open '" + filename + "': " + describe(t);
    }
}
