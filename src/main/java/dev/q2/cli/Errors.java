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

    /**
     * qemu-img's words when the image file itself cannot be opened: the file protocol refuses an empty name and a
     * folder in its own words, and reports a missing or unreadable file under the format's "Could not open", so
     * the name comes twice. Other failures (and failures about other files) read as {@link #couldNotOpen}.
     */
    static String imageOpenFailure(String filename, java.nio.file.Path path, Throwable t) {
        if (filename.isEmpty()) {
            return "Could not open '': The 'file' block driver requires a file name";
        }
        if (java.nio.file.Files.isDirectory(path)) {
            return "Could not open '" + filename + "': 'file' driver requires '" + filename + "' to be a regular file";
        }
        if (t instanceof FileSystemException fse && !(t instanceof LockConflictException) && fse.getFile() != null
                && java.nio.file.Path.of(fse.getFile()).toAbsolutePath().normalize()
                        .equals(path.toAbsolutePath().normalize())) {
            return "Could not open '" + filename + "': " + couldNotOpen(filename, t);
        }
        return couldNotOpen(filename, t);
    }
}
