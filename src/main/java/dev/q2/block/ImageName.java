package dev.q2.block;

import dev.q2.image.ImageException;
import dev.q2.util.JsonParser;

import java.util.Map;
import java.util.Set;

/**
 * An image name as the user gave it to a command: a file name, or one of QEMU's {@code json:} filenames in the one
 * shape q2 reads, an image in a local file with no backing file:
 * {@code json:{"driver": "qcow2", "file": {"driver": "file", "filename": "disk.qcow2"}, "backing": null}}
 * (QEMU's own way to open an image without its backing chain; {@code "file.filename"} and {@code "file.driver"}
 * flattened, {@code "driver"} and {@code "file.driver"} optional). Any other key or value is refused by name, so
 * a {@code json:} name never configures more than q2 understood.
 *
 * @param filename the image's file
 * @param format the driver the name asks for ({@code "qcow2"}, {@code "raw"}), or null to probe
 * @param references which of the files the image names to open
 */
public record ImageName(String filename, String format, References references) {
    private static final Set<String> KEYS = Set.of("driver", "file", "file.filename", "file.driver", "backing");

    /**
     * Reads a name given on the command line: a {@code json:} filename as above, else a plain file name (all
     * references followed).
     *
     * @param given the name as given
     * @return the name
     * @throws ImageException when a {@code json:} name cannot be parsed or asks for what q2 does not do (the
     *                        message is QEMU's reason, without "Could not open 'name': ")
     */
    public static ImageName parse(String given) throws ImageException {
        if (!given.startsWith("json:")) {
            return new ImageName(given, null, References.ALL);
        }
        Object v;
        try {
            v = JsonParser.parse(given.substring(5));
        } catch (JsonParser.JsonException e) {
            throw new ImageException("Could not parse the JSON options: " + e.getMessage());
        }
        if (!(v instanceof Map<?, ?> m)) {
            throw new ImageException("Could not parse the JSON options: Invalid JSON object given");
        }
        for (Object k : m.keySet()) {
            if (!KEYS.contains(k)) {
                throw unsupported("the option '" + k + "'");
            }
        }
        String driver = string(m, "driver");
        if (driver != null && !driver.equals("qcow2") && !driver.equals("raw")) {
            throw unsupported("the driver '" + driver + "'");
        }
        String filename = string(m, "file.filename");
        String fileDriver = string(m, "file.driver");
        if (m.containsKey("file")) {
            if (filename != null || fileDriver != null || !(m.get("file") instanceof Map<?, ?> file)) {
                throw unsupported("this 'file' (give an object with \"filename\")");
            }
            for (Object k : file.keySet()) {
                if (!k.equals("filename") && !k.equals("driver")) {
                    throw unsupported("the option 'file." + k + "'");
                }
            }
            filename = string(file, "filename");
            fileDriver = string(file, "driver");
        }
        if (fileDriver != null && !fileDriver.equals("file")) {
            throw unsupported("the protocol '" + fileDriver + "'");
        }
        if (filename == null) {
            throw new ImageException("A block device must be specified for \"file\"");
        }
        References references = References.ALL;
        if (m.containsKey("backing")) {
            if (m.get("backing") != null) {
                throw unsupported("a backing reference other than null");
            }
            references = References.NO_BACKING;
        }
        return new ImageName(filename, driver, references);
    }

    /**
     * This name with fewer references followed: the narrower of its own and {@code limit}.
     *
     * @param limit at most these references
     * @return the changed name
     */
    public ImageName limitedTo(References limit) {
        return limit.ordinal() > references.ordinal() ? new ImageName(filename, format, limit) : this;
    }

    private static String string(Map<?, ?> m, String key) throws ImageException {
        Object v = m.get(key);
        if (v != null && !(v instanceof String)) {
            throw new ImageException("Invalid parameter type for '" + key + "', expected: string");
        }
        return (String) v;
    }

    private static ImageException unsupported(String what) {
        return new ImageException("q2 reads json: filenames of an image in a local file only (driver, file.filename,"
                + " file.driver=file, backing=null); not " + what);
    }
}
