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

    /** "Could not open 'x': reason", as qemu-img says it. */
    static String couldNotOpen(String filename, Throwable t) {
        return "Could not open '" + filename + "': " + describe(t);
    }
}
