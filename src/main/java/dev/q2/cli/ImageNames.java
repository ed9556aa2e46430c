package dev.q2.cli;

import dev.q2.block.ImageName;
import dev.q2.block.References;
import dev.q2.image.ImageException;

import java.io.PrintWriter;

/**
 * How q2's commands read their image operands ({@link ImageName}: file names, {@code file:}, {@code json:} and
 * {@code --image-opts}) and report a name they cannot read, in qemu-img's words.
 */
final class ImageNames {
    private ImageNames() {
    }

    /**
     * Reads the image operand {@code given}, as QemuOpts when {@code imageOpts}; or prints why not ("Could not open
     * 'given': reason", or --image-opts with -f) and returns null (exit code 1).
     *
     * @param given the operand
     * @param imageOpts whether --image-opts was given
     * @param format the command's -f, or null
     * @param err where errors go
     * @return the name, or null
     */
    static ImageName read(String given, boolean imageOpts, String format, PrintWriter err) {
        if (imageOpts && format != null) {
            Errors.fail(err, "--image-opts and --format are mutually exclusive");
            return null;
        }
        try {
            return imageOpts ? ImageName.imageOpts(given) : ImageName.parse(given);
        } catch (ImageException e) {
            Errors.fail(err, "Could not open '" + given + "': " + e.getMessage());
            return null;
        }
    }

    /**
     * Reads {@code given} for a command that opens the image as a file and a format only: a name that also asks
     * to leave out or change what the image names (backing null, backing.driver, data-file), or the file driver
     * alone, is refused by the option's name rather than ignored.
     *
     * @param command the command, for the message
     * @param given the operand
     * @param imageOpts whether --image-opts was given
     * @param format the command's -f, or null
     * @param writes whether the command writes the image (read-only=on is then refused)
     * @param err where errors go
     * @return the name, or null after the error
     */
    static ImageName plain(String command, String given, boolean imageOpts, String format, boolean writes,
                           PrintWriter err) {
        return plain(command, given, imageOpts, format, writes, false, err);
    }

    /**
     * As {@link #plain(String, String, boolean, String, boolean, PrintWriter)}, for a command that opens the image
     * with its key ({@code encrypt.key-secret}) when {@code keys}; without, that option is refused too.
     */
    static ImageName plain(String command, String given, boolean imageOpts, String format, boolean writes,
                           boolean keys, PrintWriter err) {
        return plain(command, given, imageOpts, format, writes, keys, false, err);
    }

    /**
     * As {@link #plain(String, String, boolean, String, boolean, boolean, PrintWriter)}, for a command that also
     * opens the backing chain with {@code backing.driver} and {@code backing.file.filename} when {@code backing}
     * (the file then checked by {@link BackingOverride}).
     */
    static ImageName plain(String command, String given, boolean imageOpts, String format, boolean writes,
                           boolean keys, boolean backing, PrintWriter err) {
        ImageName name = read(given, imageOpts, format, err);
        if (name == null) {
            return null;
        }
        String refused = unhonoured(name, false, backing, false, keys, backing);
        if (refused == null && writes && name.flag("read-only")) {
            refused = "the option 'read-only' (it writes the image)";
        }
        if (refused != null) {
            Errors.fail(err, "Could not open '" + given + "': q2 " + command + " does not support " + refused);
            return null;
        }
        return name;
    }

    /**
     * Reads {@code given} for a command that opens the image with its backing chain as the image names it, and with
     * the keys the name gives: {@code encrypt.key-secret}, {@code backing.encrypt.key-secret}, and
     * {@code backing.driver} and {@code backing.file.filename} where they name the backing file's own format and
     * file ({@link BackingOverride}); other options as {@link #plain}.
     *
     * @param command the command, for the message
     * @param given the operand
     * @param imageOpts whether --image-opts was given
     * @param format the command's -f, or null
     * @param writes whether the command writes the image
     * @param workDir the working folder
     * @param err where errors go
     * @return the name, or null after the error
     */
    static ImageName withChain(String command, String given, boolean imageOpts, String format, boolean writes,
                               java.nio.file.Path workDir, PrintWriter err) {
        ImageName name = plain(command, given, imageOpts, format, writes, true, true, err);
        if (name == null) {
            return null;
        }
        String refused = BackingOverride.refusal(workDir, name, true);
        if (refused != null) {
            Errors.fail(err, "Could not open '" + given + "': q2 " + command + " does not support " + refused);
            return null;
        }
        return name;
    }

    /**
     * What of {@code name} a command would leave out, or null: the file driver alone, and of {@code backing: null},
     * {@code backing.driver} and {@code data-file} those it does not honour.
     *
     * @param name the name
     * @param backingNull whether the command honours backing: null
     * @param backingDriver whether it honours backing.driver
     * @param dataFile whether it honours data-file
     * @return the option, worded for "does not support ...", or null
     */
    static String unhonoured(ImageName name, boolean backingNull, boolean backingDriver, boolean dataFile) {
        return unhonoured(name, backingNull, backingDriver, dataFile, false);
    }

    /**
     * As {@link #unhonoured(ImageName, boolean, boolean, boolean)}; {@code keys}: whether the command opens the
     * image with the key its {@code encrypt.key-secret} names (otherwise that option is refused too).
     */
    static String unhonoured(ImageName name, boolean backingNull, boolean backingDriver, boolean dataFile,
                             boolean keys) {
        return unhonoured(name, backingNull, backingDriver, dataFile, keys, false);
    }

    /**
     * As {@link #unhonoured(ImageName, boolean, boolean, boolean, boolean)}; {@code backingFile}: whether the
     * command honours {@code backing.file.filename} (checked by {@link BackingOverride}).
     */
    static String unhonoured(ImageName name, boolean backingNull, boolean backingDriver, boolean dataFile,
                             boolean keys, boolean backingFile) {
        if (!keys && name.keySecret() != null) {
            return "the option '" + ImageName.KEY_SECRET + "'";
        }
        if (!keys && name.backingKeySecret() != null) {
            return "the option '" + ImageName.BACKING_KEY_SECRET + "'";
        }
        if (!backingFile && name.backingFilename() != null) {
            return "the option '" + ImageName.BACKING_FILENAME + "'";
        }
        if ("file".equals(name.format()) || "host_device".equals(name.format())
                || "host_cdrom".equals(name.format())) {
            return "the driver '" + name.format() + "' alone (give driver raw)";
        }
        if (name.nested() != null) {
            return "the driver '" + name.nested().format() + "' as the file of an image (q2 io reads such images)";
        }
        if (!backingNull && name.references() != References.ALL) {
            return "the option 'backing'";
        }
        if (!backingDriver && name.backingFormat() != null) {
            return "the option 'backing.driver'";
        }
        if (!dataFile && name.dataFile() != null) {
            return "the option 'data-file'";
        }
        return null;
    }
}
