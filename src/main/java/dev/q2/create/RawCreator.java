package dev.q2.create;

import dev.q2.io.ImageFile;
import dev.q2.util.Sizes;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * qemu-img create -f raw: the raw format over QEMU's file protocol (file-posix). The file is opened (created when
 * missing), cut to nothing, then given its size, rounded up to whole 512-byte sectors, with the preallocation asked
 * for:
 *
 * <ul>
 * <li>off: only the length; then the first block is written with zeros (512 bytes when the file is under 4 KiB,
 * else 4 KiB) so that a later open can probe the alignment, which leaves one file-system block allocated;</li>
 * <li>falloc: every block allocated (QEMU fallocates; q2, without fallocate in Java, writes zeros, which allocates
 * the same blocks), then the first block as above;</li>
 * <li>full: zeros written over the whole length;</li>
 * <li>metadata: refused after the file was cut to nothing (a raw file has no metadata).</li>
 * </ul>
 *
 * <p>The options are the protocol's (size, nocow, preallocation, extent_size_hint); a backing file is refused. The
 * checks come in qemu-img's order: option names and values first, then the backing file, the size, the
 * "Formatting" line, and then the file protocol's own checks (preallocation value, extent size hint, the file).
 *
 * <p>There is nothing to order for crash safety: a raw file has no metadata, so every intermediate state is a raw
 * image (of size 0 to the asked size, reading as zeros).
 */
public final class RawCreator {
    /** The options raw create accepts (all the file protocol's; raw itself has only size). */
    private static final Set<String> KNOWN = Set.of("size", "nocow", "preallocation", "extent_size_hint");
    /** The order of the "Formatting" line after size: file-posix's create options in their declared order. */
    private static final String[] FORMATTING_ORDER = {"nocow", "preallocation", "extent_size_hint"};
    private static final long FIRST_BLOCK = 4096;
    private static final int SECTOR = 512;
    private static final int ZEROS = 64 * 1024;

    /** A checked raw create: what to make and the "Formatting" line qemu-img prints before making it. */
    public record Plan(long size, String formattingLine, List<String> warnings, String preallocation,
                       String extentSizeHint) {
    }

    private RawCreator() {
    }

    /**
     * qemu-img create -f raw -o help: with a file name, every option (the protocol's included); without, the raw
     * format's alone and a note.
     */
    public static String helpText(boolean withFilename) {
        if (withFilename) {
            return "Supported options:\n"
                    + "  extent_size_hint=<size> - Extent size hint for the image file, 0 to disable\n"
                    + "  nocow=<bool (on/off)>  - Turn off copy-on-write (valid only on btrfs)\n"
                    + "  preallocation=<str>    - Preallocation mode (allowed values: off, falloc, full)\n"
                    + "  size=<size>            - Virtual disk size\n";
        }
        return "Supported raw options:\n"
                + "  size=<size>            - Virtual disk size\n"
                + "\n"
                + "The protocol level may support further options.\n"
                + "Specify the target filename to include those options.\n";
    }

    /**
     * Checks a raw create as qemu-img does up to its "Formatting" line; throws what it reports first.
     *
     * @param filename the name as given (shown in the Formatting line)
     * @param sizeArgument the positional size, or null
     * @param options the -o arguments in order
     * @param backingFile -b, or null
     * @param backingFormat -F, or null
     * @return the plan
     * @throws CreateException when qemu-img would refuse before formatting
     */
    public static Plan plan(String filename, String sizeArgument, List<String> options, String backingFile,
                            String backingFormat) throws CreateException {
        CreateOptions o = new CreateOptions();
        for (String text : options) {
            CreatePlanner.parseOptions(text, o, KNOWN);
        }
        if (backingFile != null) {
            throw new CreateException("Backing file not supported for file format 'raw'", false);
        }
        if (backingFormat != null) {
            throw new CreateException("Backing file format not supported for file format 'raw'", false);
        }
        List<String> warnings = new ArrayList<>();
        Long size = null;
        if (sizeArgument != null) {
            size = CreatePlanner.parseSizeArgument(sizeArgument, warnings);
        }
        if (size != null && o.get("size") != null) {
            throw new CreateException("The image size must be specified only once", false);
        }
        if (size == null && o.get("size") != null) {
            size = sizeOf(o.get("size")); // (checked by parseOptions)
            if (size < 0) {
                throw new CreateException(
                        "Invalid image size specified. Must be between 0 and 9223372036854775807.", false);
            }
        }
        if (size == null) {
            throw new CreateException("Image creation needs a size parameter", false);
        }
        StringBuilder line = new StringBuilder("Formatting '").append(filename).append("', fmt=raw size=")
                .append(size);
        for (String key : FORMATTING_ORDER) {
            String v = o.get(key);
            if (v != null) {
                line.append(' ').append(key).append('=')
                        .append(key.equals("extent_size_hint") ? Long.toString(sizeOf(v)) : v);
            }
        }
        return new Plan(size, line.toString(), warnings, o.get("preallocation"), o.get("extent_size_hint"));
    }

    /**
     * Makes the file of a plan as QEMU's file protocol does (after the Formatting line).
     *
     * @param path the file
     * @param shown the file's name in messages
     * @param plan a plan from {@link #plan}
     * @throws CreateException what qemu-img reports (the file may exist by then, as with qemu-img)
     * @throws IOException other failures
     */
    public static void create(Path path, String shown, Plan plan) throws IOException, CreateException {
        Preallocation prealloc = Preallocation.OFF;
        if (plan.preallocation() != null) {
            prealloc = Preallocation.fromOption(plan.preallocation());
            if (prealloc == null) {
                throw new CreateException("invalid parameter value: " + plan.preallocation(), true);
            }
        }
        if (plan.extentSizeHint() != null
                && Long.compareUnsigned(sizeOf(plan.extentSizeHint()), 0xffffffffL) > 0) {
            throw new CreateException("Extent size hint is too large", true);
        }
        openOrCreate(path, shown);
        try (ImageFile f = ImageFile.openReadWrite(path)) {
            format(f, plan.size(), prealloc);
        }
    }

    /**
     * Cuts an open file to nothing and gives it {@code size} bytes (rounded up to whole sectors) with the given
     * preallocation, as QEMU's file protocol creates a file.
     *
     * @param f the file, open for writing
     * @param size the size asked for
     * @param prealloc off, falloc or full
     * @throws CreateException metadata preallocation, or a size the file cannot have (qemu-img's words)
     * @throws IOException when the file cannot be written
     */
    public static void format(ImageFile f, long size, Preallocation prealloc) throws IOException, CreateException {
        f.setLength(0);
        if (prealloc == Preallocation.METADATA) {
            throw new CreateException("Unsupported preallocation mode: metadata", true);
        }
        long length = (size + SECTOR - 1) & ~(long) (SECTOR - 1);
        if (length < 0) { // rounded beyond 2^63 - 1: ftruncate's EINVAL
            throw new CreateException("Could not resize file: Invalid argument", true);
        }
        try {
            f.setLength(length);
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().contains("File too large")) {
                throw new CreateException("The image size is too large for file format 'raw'", true);
            }
            throw e;
        }
        if (prealloc == Preallocation.FALLOC || prealloc == Preallocation.FULL) {
            ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(ZEROS, Math.max(length, 1)));
            for (long at = 0; at < length; at += ZEROS) {
                zeros.clear().limit((int) Math.min(ZEROS, length - at));
                f.writeFully(at, zeros);
            }
        }
        if (prealloc != Preallocation.FULL && length > 0) {
            // file-posix zeroes the first block of a new file, so that the alignment can be probed later
            f.writeFully(0, ByteBuffer.allocate((int) (length < FIRST_BLOCK ? SECTOR : FIRST_BLOCK)));
        }
    }

    /** open(O_RDWR | O_CREAT, 0644) with qemu-img's messages ("Could not create ..."). */
    private static void openOrCreate(Path path, String shown) throws IOException, CreateException {
        try {
            Files.createFile(path, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r--r--")));
        } catch (FileAlreadyExistsException e) {
            if (Files.isDirectory(path)) {
                throw new CreateException("Could not create '" + shown + "': Is a directory", true);
            }
            if (!Files.isWritable(path)) {
                throw new CreateException("Could not create '" + shown + "': Permission denied", true);
            }
        } catch (NoSuchFileException e) {
            throw new CreateException("Could not create '" + shown + "': No such file or directory", true);
        } catch (AccessDeniedException e) {
            throw new CreateException("Could not create '" + shown + "': Permission denied", true);
        } catch (FileSystemException e) {
            throw new CreateException("Could not create '" + shown + "': " + e.getReason(), true);
        }
    }

    /** A size option's value, already checked by {@link CreatePlanner#parseOptions}. */
    private static long sizeOf(String v) {
        try {
            return Sizes.parse(v).value();
        } catch (Sizes.SizeFormatException e) {
            throw new IllegalArgumentException(v, e);
        }
    }
}
