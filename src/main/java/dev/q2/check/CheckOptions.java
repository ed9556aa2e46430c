package dev.q2.check;

import dev.q2.block.References;

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
 * @param references       which files the image names are opened: {@link References#ALL} as qemu-img (the backing
 *                         chain is opened, though the check never reads it), or {@link References#NO_BACKING} /
 *                         {@link References#NONE} for the image's own file only (the check reads only that file
 *                         in every case: an external data file holds guest data, no metadata)
 * @param keys             the key secrets of an encrypted image and its backing chain ({@code encrypt.key-secret},
 *                         {@code backing.encrypt.key-secret}): qemu-img check opens the image for its guest data,
 *                         so an encrypted image needs its key (which the check then never uses); null for none
 */
public record CheckOptions(CheckMode mode, String format, boolean forceShare, String displayName,
                           Path workingDirectory, References references, dev.q2.crypto.ImageKeys keys) {
    /** Validates: the mode and references are required. */
    public CheckOptions {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(references, "references");
    }

    /** Options without key secrets. */
    public CheckOptions(CheckMode mode, String format, boolean forceShare, String displayName,
                        Path workingDirectory, References references) {
        this(mode, format, forceShare, displayName, workingDirectory, references, null);
    }

    /** Options that follow every reference (as qemu-img). */
    public CheckOptions(CheckMode mode, String format, boolean forceShare, String displayName,
                        Path workingDirectory) {
        this(mode, format, forceShare, displayName, workingDirectory, References.ALL);
    }

    /** A read-only check of an image whose format is probed. */
    public static CheckOptions defaults() {
        return new CheckOptions(CheckMode.NONE, null, false, null, null, References.ALL);
    }

    /** These options with another repair mode. */
    public CheckOptions withMode(CheckMode newMode) {
        return new CheckOptions(newMode, format, forceShare, displayName, workingDirectory, references, keys);
    }

    /** These options with another format (null: probe it). */
    public CheckOptions withFormat(String newFormat) {
        return new CheckOptions(mode, newFormat, forceShare, displayName, workingDirectory, references, keys);
    }

    /** These options with force-share on or off. */
    public CheckOptions withForceShare(boolean newForceShare) {
        return new CheckOptions(mode, format, newForceShare, displayName, workingDirectory, references, keys);
    }

    /** These options with another name for messages. */
    public CheckOptions withDisplayName(String newDisplayName) {
        return new CheckOptions(mode, format, forceShare, newDisplayName, workingDirectory, references, keys);
    }

    /** These options with another working directory. */
    public CheckOptions withWorkingDirectory(Path newWorkingDirectory) {
        return new CheckOptions(mode, format, forceShare, displayName, newWorkingDirectory, references, keys);
    }

    /**
     * These options with other references followed: {@link References#NONE} opens the image's own file only
     * (nothing it names is opened, stat'ed or resolved).
     */
    public CheckOptions withReferences(References newReferences) {
        return new CheckOptions(mode, format, forceShare, displayName, workingDirectory, newReferences, keys);
    }

    /** These options with the key secrets of an encrypted image (and its backing chain); null for none. */
    public CheckOptions withKeys(dev.q2.crypto.ImageKeys newKeys) {
        return new CheckOptions(mode, format, forceShare, displayName, workingDirectory, references, newKeys);
    }
}
