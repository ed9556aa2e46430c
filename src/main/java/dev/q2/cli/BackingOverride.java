package dev.q2.cli;

import dev.q2.block.ImageName;
import dev.q2.format.ChildNames;
import dev.q2.image.Qcow2Metadata;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code backing.file.filename} of an image name (iotests 158 and 198 name the backing image so, with its
 * {@code backing.encrypt.key-secret}): QEMU opens the named file as the backing image instead of the one the image
 * names. q2 honours it where it names that same file (so that it changes nothing but the keys given with it) and
 * refuses any other file by the option's name rather than open the wrong backing image.
 */
final class BackingOverride {
    private BackingOverride() {
    }

    /**
     * Why q2 does not honour the name's {@code backing.file.filename}, or null when it names no file or the file
     * the image names. An image that cannot be read is left to the command's own open, which reports it.
     *
     * @param workDir the working folder (relative names)
     * @param name the image's name
     * @return the refusal, worded for "does not support ...", or null
     */
    static String refusal(Path workDir, ImageName name) {
        return refusal(workDir, name, false);
    }

    /**
     * As {@link #refusal(Path, ImageName)}; with {@code driver}, for a command that opens the chain as the image
     * names it, {@code backing.driver} too is honoured only where it names the backing file's own format.
     *
     * @param workDir the working folder (relative names)
     * @param name the image's name
     * @param driver whether to check backing.driver as well
     * @return the refusal, worded for "does not support ...", or null
     */
    static String refusal(Path workDir, ImageName name, boolean driver) {
        String given = name.backingFilename();
        boolean checkDriver = driver && name.backingFormat() != null;
        if (given == null && !checkDriver) {
            return null;
        }
        String stored;
        String storedFormat;
        Path image = workDir.resolve(name.filename());
        try (Qcow2Metadata md = Qcow2Metadata.openMetadata(image)) {
            stored = md.backingFile();
            storedFormat = md.backingFormat();
        } catch (IOException | RuntimeException e) {
            return null; // (the command's open says why)
        }
        if (checkDriver && (stored == null || stored.isEmpty())) {
            // QEMU then opens a backing image from the options alone, and fails without a file to open
            return "the option 'backing.driver' for an image without a backing file";
        }
        if (checkDriver) {
            String format = storedFormat;
            try {
                ImageName s = ImageName.stored(ChildNames.backing(name.filename(), stored));
                format = s.format() != null ? s.format() : format != null ? format
                        : dev.q2.image.Devices.probe(workDir.resolve(s.filename()));
            } catch (IOException | RuntimeException e) {
                format = null; // (the open says why)
            }
            if (format != null && !format.equals(name.backingFormat())) {
                return "the option 'backing.driver' naming another format than the backing file's";
            }
        }
        if (given == null) {
            return null;
        }
        String refusal = "the option '" + ImageName.BACKING_FILENAME + "' naming another file than the image's"
                + " backing file";
        if (stored == null || stored.isEmpty()) {
            return refusal;
        }
        ImageName storedName;
        try {
            storedName = ImageName.stored(ChildNames.backing(name.filename(), stored));
        } catch (IOException e) {
            return refusal;
        }
        Path a = workDir.resolve(given);
        Path b = workDir.resolve(storedName.filename());
        try {
            return Files.isSameFile(a, b) ? null : refusal;
        } catch (IOException e) {
            return a.normalize().equals(b.normalize()) ? null : refusal;
        }
    }
}
