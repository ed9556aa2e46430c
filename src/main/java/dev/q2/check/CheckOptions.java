package dev.q2.check;

import java.nio.file.Path;
import java.util.Objects;

/**
 * How {@link ImageChecker} checks an image (qemu-img check's options). Immutable and thread-safe; start from
 * {@link #defaults()} and change what differs with the {@code with...} methods.
 *
 * @param mode             what to repair: nothing (read-only), leaked clusters, or everything the check can repair
 * @param format           the image format ({@code "qcow2"}, ...), or null to probe it as qemu-img does
 * @param forceShare       open the image even when another process holds it (read-only checks only; qemu-img -U)
 * @param displayName      the image's name in messages, as the user wrote it (null: the path as given); relative
 *                         backing file names are resolved against this name's folder, as QEMU does
 * @param workingDirectory the folder relative names (the image's, its backing file's) are resolved against
 *                         (null: the process's working folder)
 */
public record CheckOptions(CheckMode mode, String format, boolean forceShare, String displayName,
                           Path workingDirectory) {
    /** Validates: the mode is required. */
    public CheckOptions {
        Objects.requireNonNull(mode, "mode");
    }

    /** A read-only check of an image whose format is probed. */
    public static CheckOptions defaults() {
        return new CheckOptions(CheckMode.NONE, null, false, null, null);
    }

    /** These options with another repair mode. */
    public CheckOptions withMode(CheckMode newMode) {
        return new CheckOptions(newMode, format, forceShare, displayName, workingDirectory);
    }

    /** These options with another format (null: probe it). */
    public CheckOptions withFormat(String newFormat) {
        return new CheckOptions(mode, newFormat, forceShare, displayName, workingDirectory);
    }

    /** These options with force-share on or off. */
    public CheckOptions withForceShare(boolean newForceShare) {
        return new CheckOptions(mode, format, newForceShare, displayName, workingDirectory);
    }

    /** These options with another name for messages. */
    public CheckOptions withDisplayName(String newDisplayName) {
        return new CheckOptions(mode, format, forceShare, newDisplayName, workingDirectory);
    }

    /** These options with another working directory. */
    public CheckOptions withWorkingDirectory(Path newWorkingDirectory) {
        return new CheckOptions(mode, format, forceShare, displayName, newWorkingDirectory);
    }
}
