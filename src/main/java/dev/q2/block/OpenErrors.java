package dev.q2.block;

import dev.q2.io.QemuLock.LockConflictException;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * qemu-img's words for an image that cannot be opened ("Could not open 'NAME': reason"), made in one place for
 * every command that opens images (map, compare, convert, measure, info, check, io). The library returns the
 * message; the command line prints it.
 */
public final class OpenErrors {
    private OpenErrors() {
    }

    /**
     * The reason in a failure's own words: the system's for a file that cannot be opened ("No such file or
     * directory", "Permission denied"), QEMU's two lines for a lock conflict, else the exception's message (q2's
     * exceptions carry qemu-img's words).
     */
    public static String reason(Throwable t) {
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
        if (t instanceof IOException && t.getMessage() != null) {
            return t.getMessage(); // q2's own words
        }
        String m = t.getMessage();
        return m == null ? t.getClass().getSimpleName() : m.replace('\n', ' ');
    }

    /** "Could not open 'filename': reason" (a lock conflict names the image as the user did). */
    public static String couldNotOpen(String filename, Throwable t) {
        if (t instanceof LockConflictException lock) {
            return "Could not open '" + filename + "': " + lock.qemuLines(filename);
        }
        return "Could not open '" + filename + "': " + reason(t);
    }

    /**
     * qemu-img's message when opening the image {@code filename} (found at {@code path}) failed with {@code t}: the
     * file protocol refuses an empty name and a folder in its own words, and reports a missing or unreadable image
     * file under the format's "Could not open", so the name comes twice; other failures (those of a backing or data
     * file included, which {@link BlockGraph} words already) read as {@link #couldNotOpen}.
     */
    public static String imageOpenFailure(String filename, Path path, Throwable t) {
        return imageOpenFailure(filename, filename, path, t);
    }

    /**
     * As {@link #imageOpenFailure(String, Path, Throwable)} for an image named {@code given} (a {@code json:} name,
     * {@code --image-opts}) whose file is {@code file}: the outer "Could not open" names what the user gave, the
     * file protocol's words name the file.
     */
    public static String imageOpenFailure(String given, String file, Path path, Throwable t) {
        if (file.isEmpty()) {
            return "Could not open '" + given + "': " + EMPTY_NAME;
        }
        if (Files.isDirectory(path)) {
            return "Could not open '" + given + "': " + notRegular(file);
        }
        if (t instanceof FileSystemException fse && !(t instanceof LockConflictException) && fse.getFile() != null
                && Path.of(fse.getFile()).toAbsolutePath().normalize().equals(path.toAbsolutePath().normalize())) {
            return "Could not open '" + given + "': " + couldNotOpen(file, t);
        }
        return given.equals(file) ? couldNotOpen(file, t) : "Could not open '" + given + "': " + reason(t);
    }

    /** The file protocol's refusal of an empty file name. */
    static final String EMPTY_NAME = "The 'file' block driver requires a file name";

    /** The file protocol's refusal of a folder. */
    static String notRegular(String name) {
        return "'file' driver requires '" + name + "' to be a regular file";
    }
}
