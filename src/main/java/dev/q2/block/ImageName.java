package dev.q2.block;

import dev.q2.format.ChildNames;
import dev.q2.image.ImageException;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * An image as the user named it on the command line, read as QEMU's block layer reads a name or an options
 * dictionary, in the one place where q2 gives block options their meaning. The forms:
 * <ul>
 * <li>a file name ({@code disk.qcow2}); {@code file:NAME} is NAME (with {@code ./} before it when NAME would
 * itself look like a protocol, as QEMU strips the prefix); any other {@code PROTOCOL:} prefix before the first slash
 * is a protocol q2 does not open, refused in QEMU's words ("Unknown protocol 'x'") or by name;</li>
 * <li>{@code json:{...}}: QEMU's options as a JSON object, nested ({@code "file": {"filename": ...}}) or flattened
 * ({@code "file.filename"}), in single or double quotes;</li>
 * <li>QemuOpts text for {@code --image-opts} and {@code q2 io open -o}: {@code driver=qcow2,file.filename=PATH}.</li>
 * </ul>
 * What q2 reads: the drivers {@code qcow2} and {@code raw} (or none: the format is probed) over the {@code file}
 * protocol, or the {@code file} driver alone (the file's bytes); {@code backing: null} (no backing file) and
 * {@code backing.driver} (the backing file's format, over the image's own); {@code data-file.filename} (the external
 * data file to open instead of the name the image stores); and options that change nothing q2 does or that q2's
 * commands honour themselves ({@link #options()}: node names, read-only, force-share, cache modes and sizes,
 * {@code file.locking}, {@code file.aio}). Any other option is refused, never ignored: in QEMU's words when QEMU does
 * not know it either ("Block format 'qcow2' does not support the option 'x'"), with "(q2 does not implement it)"
 * when QEMU does; other drivers (nbd, http, blkdebug, null-co, quorum, ...) are refused by name.
 *
 * <p>Only names given by the user are read this way: a name stored in an image (its backing file, data file) is
 * never given to this class (docs/security.md).
 *
 * @param filename the image's file, as it is opened and shown ({@code image:} of qemu-img info)
 * @param format the driver: "qcow2", "raw", "file" (the file's bytes, no format), or null to probe
 * @param references which of the files the image names to open
 * @param dataFile the external data file to open instead of the one the image names, or null
 * @param backingFormat the backing file's format over the one the image records, or null
 * @param options the other options given and accepted, flattened ({@code read-only}, {@code file.locking}, ...)
 * @param nested the image whose guest data holds this image ({@code file.driver=qcow2|raw}: a format node as the
 *               file of another, as iotests 072 and 089 nest them), or null when this image is in {@link #filename}
 */
public record ImageName(String filename, String format, References references, String dataFile,
                        String backingFormat, Map<String, String> options, ImageName nested) {
    /** Drivers QEMU 7.2 has that q2 does not open: refused by name, never taken for a file. */
    private static final Set<String> OTHER_DRIVERS = Set.of("blkdebug", "blklogwrites", "blkverify", "bochs", "cloop",
            "compress", "copy-before-write", "copy-on-read", "dmg", "ftp", "ftps", "gluster", "http", "https",
            "iscsi", "iser", "luks", "nbd", "nfs", "null-aio", "null-co", "nvme", "parallels", "preallocate", "qcow",
            "qed", "quorum", "rbd", "replication", "snapshot-access", "ssh", "throttle", "vdi", "vhdx", "vmdk", "vpc",
            "vvfat");
    /** Protocol prefixes QEMU 7.2 knows in a file name (besides file: and json:). */
    private static final Set<String> PROTOCOLS = Set.of("nbd", "nbd+tcp", "nbd+unix", "http", "https", "ftp", "ftps",
            "ssh", "gluster", "gluster+tcp", "gluster+unix", "gluster+rdma", "iscsi", "iser", "rbd", "nfs", "blkdebug",
            "blkverify", "null-co", "null-aio", "host_device", "host_cdrom", "fat", "nvme");
    /** Options of every node that q2 accepts: they change nothing it does, or its commands honour them. */
    private static final Set<String> NODE_OPTIONS = Set.of("node-name", "read-only", "auto-read-only", "force-share",
            "cache.direct", "cache.no-flush");
    /** Options of every node QEMU has that q2 does not implement. */
    private static final Set<String> NODE_UNIMPLEMENTED = Set.of("discard", "detect-zeroes");
    private static final Set<String> BOOLEANS = Set.of("read-only", "auto-read-only", "force-share", "cache.direct",
            "cache.no-flush", "lazy-refcounts", "pass-discard-request", "pass-discard-snapshot", "pass-discard-other",
            "x-check-cache-dropped", "drop-cache", "overlap-check.main-header", "overlap-check.active-l1",
            "overlap-check.active-l2", "overlap-check.refcount-table", "overlap-check.refcount-block",
            "overlap-check.snapshot-table", "overlap-check.inactive-l1", "overlap-check.inactive-l2",
            "overlap-check.bitmap-directory");
    /** The qcow2 driver's cache options: sizes q2's L2 cache reads (or that change only speed). */
    /** qcow2's option naming the --object secret that holds an encrypted image's key. */
    public static final String KEY_SECRET = "encrypt.key-secret";
    /** qcow2's option naming the --object secret that holds the backing image's key. */
    public static final String BACKING_KEY_SECRET = "backing.encrypt.key-secret";
    /** The backing image's file, given by the user (honoured when it is the file the image names). */
    public static final String BACKING_FILENAME = "backing.file.filename";
    /** Options of the backing child q2 reads (besides backing.driver), without the "backing." prefix. */
    private static final java.util.List<String> BACKING_OPTIONS = java.util.List.of(
            BACKING_KEY_SECRET.substring(8), BACKING_FILENAME.substring(8));
    private static final Set<String> QCOW2_OPTIONS = Set.of("l2-cache-size", "l2-cache-entry-size",
            "refcount-cache-size", "cache-size", "cache-clean-interval", KEY_SECRET);
    private static final Set<String> QCOW2_UNIMPLEMENTED = Set.of("lazy-refcounts", "pass-discard-request",
            "pass-discard-snapshot", "pass-discard-other");
    /** qcow2's overlap-check options (the template and one boolean per structure), q2 io's to honour. */
    private static final Set<String> OVERLAP_CHECKS = Set.of("overlap-check", "overlap-check.template",
            "overlap-check.main-header", "overlap-check.active-l1", "overlap-check.active-l2",
            "overlap-check.refcount-table", "overlap-check.refcount-block", "overlap-check.snapshot-table",
            "overlap-check.inactive-l1", "overlap-check.inactive-l2", "overlap-check.bitmap-directory");
    private static final Set<String> RAW_UNIMPLEMENTED = Set.of("offset", "size");
    /** The file protocol's options that q2 accepts. */
    private static final Set<String> FILE_OPTIONS = Set.of("locking", "aio", "aio-max-batch");
    private static final Set<String> FILE_UNIMPLEMENTED = Set.of("pr-manager", "drop-cache", "x-check-cache-dropped");

    /**
     * A plain name: the image in file {@code filename}, its format probed, everything it names followed.
     *
     * @param filename the file
     * @param format the format, or null to probe
     * @param references which named files to open
     */
    public ImageName(String filename, String format, References references) {
        this(filename, format, references, null, null, Map.of(), null);
    }

    /**
     * Reads a name given on the command line: a file name, {@code file:NAME} or {@code json:{...}}.
     *
     * @param given the name as given
     * @return the name
     * @throws ImageException when it cannot be read or asks for what q2 does not do (QEMU's reason, without
     *                        "Could not open 'name': ")
     */
    public static ImageName parse(String given) throws ImageException {
        return parse(given, Map.of());
    }

    /**
     * Reads a name given with options (qemu-io's {@code open -o OPTIONS NAME}): the options win over those of a
     * {@code json:} name, and a plain name is the file the options' driver reads.
     *
     * @param given the name as given, or null for none (the options then name the file)
     * @param given2 the options, flattened
     * @return the name
     * @throws ImageException when it cannot be read or asks for what q2 does not do
     */
    public static ImageName parse(String given, Map<String, String> given2) throws ImageException {
        Map<String, String> opts = new LinkedHashMap<>();
        if (given != null && given.startsWith("json:")) {
            opts.putAll(BlockOptions.fromJson(given.substring(5)));
            opts.putAll(given2);
            return of(opts);
        }
        if (given == null) {
            opts.putAll(given2);
            return of(opts);
        }
        String file = given;
        String protocol = protocol(given);
        if (protocol != null) {
            if (!protocol.equals("file")) {
                throw PROTOCOLS.contains(protocol) ? unsupportedDriver(protocol)
                        : new ImageException("Unknown protocol '" + protocol + "'");
            }
            file = given.substring(5);
            if (protocol(file) != null) {
                file = "./" + file; // so that it does not read as a protocol again (bdrv_parse_filename_strip_prefix)
            }
        }
        if (given2.isEmpty()) {
            return new ImageName(file, null, References.ALL);
        }
        opts.putAll(given2);
        String driver = opts.get("driver");
        String key = driver != null && isProtocol(driver) ? "filename" : "file.filename";
        if (opts.containsKey(key) || opts.containsKey(key.equals("filename") ? "file" : "filename")) {
            throw new ImageException("Can't specify 'file' and 'filename' options at the same time");
        }
        opts.put(key, file);
        return of(opts);
    }

    /**
     * A backing file name stored in an image (already combined with the image's folder), read as QEMU reads it but
     * within q2's rule for names an image holds (docs/security.md): a plain name, or {@code file:NAME}, is that file;
     * a {@code json:} name is followed only where it names what a plain name could, an image in a local file
     * ({@code qcow2} or {@code raw} or a probe, over the file protocol, with options that change nothing); any other
     * protocol, driver or option is refused, where QEMU would open or connect to what it names. QEMU opens a
     * relative file name of a {@code json:} backing name in the working folder, not the image's.
     *
     * @param name the name as the image stores it, combined with the image's folder
     * @return the backing file to open
     * @throws ImageException when q2 does not follow the name (the reason)
     */
    public static ImageName stored(String name) throws ImageException {
        ImageName n;
        try {
            n = parse(name);
        } catch (ImageException e) {
            throw new ImageException("q2 does not follow the backing file name '" + name + "' that the image"
                    + " holds: " + e.getMessage());
        }
        if (n.nested != null || n.dataFile != null || n.backingFormat != null || n.references != References.ALL
                || isProtocol(n.format == null ? "qcow2" : n.format)) {
            throw new ImageException("q2 does not follow the backing file name '" + name + "' that the image holds"
                    + " (a json: name that asks for more than a local image file)");
        }
        return n;
    }

    /**
     * Reads {@code --image-opts} text: QemuOpts whose first word without {@code =} is the {@code file} option.
     *
     * @param text the options
     * @return the name
     * @throws ImageException when it cannot be read or asks for what q2 does not do
     */
    public static ImageName imageOpts(String text) throws ImageException {
        return of(BlockOptions.fromQemuOpts(text, "file"));
    }

    /**
     * Gives a flattened options dictionary its meaning: the one place q2 turns block options into what to open.
     *
     * @param given the options (not changed)
     * @return the name
     * @throws ImageException when the options ask for what q2 does not do, in QEMU's words where QEMU refuses too
     */
    public static ImageName of(Map<String, String> given) throws ImageException {
        Map<String, String> opts = new LinkedHashMap<>(given);
        String driver = opts.remove("driver");
        if (driver == null && !opts.containsKey("file") && !hasChild(opts, "file")) {
            throw new ImageException("Must specify either driver or file");
        }
        if (driver != null) {
            checkDriver(driver);
        }
        Map<String, String> accepted = new LinkedHashMap<>();
        if (driver != null && isProtocol(driver)) {
            String filename = opts.remove("filename");
            if (filename == null) {
                throw new ImageException("The '" + driver + "' block driver requires a file name");
            }
            protocolOptions(driver, opts, "", accepted);
            return new ImageName(filename, driver, References.NONE, null, null, accepted, null);
        }
        String fmtName = driver == null ? "qcow2" : driver;
        if (opts.containsKey("file")) {
            String ref = opts.get("file");
            throw new ImageException(ref == null ? "A block device must be specified for \"file\""
                    : "Cannot find device='" + ref + "' nor node-name='" + ref + "'");
        }
        if (opts.containsKey("filename")) {
            throw new ImageException(driver == null ? "Must specify either driver or file"
                    : "A block device must be specified for \"file\"");
        }
        Map<String, String> file = child(opts, "file");
        String fileDriver = file.get("driver");
        ImageName nested = null;
        String filename;
        if (fileDriver != null && (fileDriver.equals("qcow2") || fileDriver.equals("raw"))) {
            nested = of(file); // a format node as the file of this one: bounded by the name's depth and size
            filename = nested.filename();
            file.clear();
            fileDriver = "file";
        } else if (fileDriver != null) {
            file.remove("driver");
            checkDriver(fileDriver);
            filename = file.remove("filename");
        } else {
            filename = file.remove("filename");
            fileDriver = "file";
        }
        if (filename == null) {
            throw new ImageException(file.isEmpty() && fileDriver.equals("file") && !given.containsKey("file.driver")
                    ? "A block device must be specified for \"file\""
                    : "The '" + fileDriver + "' block driver requires a file name");
        }
        if (!fileDriver.equals("file")) {
            throw unsupportedDriver(fileDriver);
        }
        protocolOptions(fileDriver, file, "file.", accepted);

        References references = References.ALL;
        String backingFormat = null;
        String dataFile = null;
        boolean qcow2 = driver == null || driver.equals("qcow2");
        if (opts.containsKey("backing")) { // any format: QEMU's block layer reads it (BDRV_O_NO_BACKING)
            String ref = opts.remove("backing");
            if (ref != null && !ref.isEmpty()) { // "" too means none (QEMU's deprecated form, --image-opts backing=)
                throw new ImageException("Cannot find device='" + ref + "' nor node-name='" + ref + "'");
            }
            references = References.NO_BACKING;
        }
        if (qcow2 && hasChild(opts, "backing")) {
            Map<String, String> backing = child(opts, "backing");
            backingFormat = backing.remove("driver");
            if (backingFormat != null) {
                checkDriver(backingFormat);
                if (!backingFormat.equals("qcow2") && !backingFormat.equals("raw")) {
                    throw unsupportedDriver(backingFormat);
                }
            }
            // the backing image's key secret, and its file when it names the file the image names (the commands
            // that take them check that: see BackingOverride), kept with their prefix for the commands to honour
            for (String k : BACKING_OPTIONS) {
                if (backing.containsKey(k)) {
                    String v = backing.remove(k);
                    checkValue(k, v);
                    accepted.put("backing." + k, v);
                }
            }
            if (!backing.isEmpty()) {
                throw unimplemented(fmtName, "backing." + backing.keySet().iterator().next());
            }
        }
        if (qcow2 && opts.containsKey("data-file")) {
            String ref = opts.remove("data-file");
            if (ref != null) { // null: the image's own data file, as QEMU ignores "data-file": null
                throw new ImageException("Cannot find device='" + ref + "' nor node-name='" + ref + "'");
            }
        }
        if (qcow2 && hasChild(opts, "data-file")) {
            Map<String, String> data = child(opts, "data-file");
            String dataDriver = data.remove("driver");
            if (dataDriver != null && !dataDriver.equals("file")) {
                checkDriver(dataDriver);
                throw unsupportedDriver(dataDriver);
            }
            dataFile = data.remove("filename");
            if (dataFile == null) {
                throw new ImageException("The 'file' block driver requires a file name");
            }
            protocolOptions("file", data, "data-file.", accepted);
        }
        for (Map.Entry<String, String> e : opts.entrySet()) {
            String k = e.getKey();
            String base = k.contains(".") && !NODE_OPTIONS.contains(k) ? k.substring(0, k.indexOf('.')) : k;
            boolean known = NODE_OPTIONS.contains(k) || NODE_UNIMPLEMENTED.contains(k)
                    || qcow2 && (QCOW2_OPTIONS.contains(k) || QCOW2_UNIMPLEMENTED.contains(base) || base.equals("encrypt")
                    || OVERLAP_CHECKS.contains(k))
                    || !qcow2 && RAW_UNIMPLEMENTED.contains(k);
            if (!known) {
                throw new ImageException("Block format '" + fmtName + "' does not support the option '" + k + "'");
            }
            checkValue(k, e.getValue());
            if (NODE_OPTIONS.contains(k) || qcow2 && (QCOW2_OPTIONS.contains(k) || OVERLAP_CHECKS.contains(k))
                    || NODE_UNIMPLEMENTED.contains(k) && isOff(k, e.getValue())) {
                accepted.put(k, e.getValue());
            } else {
                throw unimplemented(fmtName, k);
            }
        }
        return new ImageName(filename, driver, references, dataFile, backingFormat, accepted, nested);
    }

    /** Checks a protocol node's own options (keys without {@code prefix}), keeping those q2 accepts. */
    private static void protocolOptions(String driver, Map<String, String> opts, String prefix,
                                        Map<String, String> accepted) throws ImageException {
        for (Map.Entry<String, String> e : opts.entrySet()) {
            String k = e.getKey();
            if (!NODE_OPTIONS.contains(k) && !FILE_OPTIONS.contains(k) && !NODE_UNIMPLEMENTED.contains(k)
                    && !FILE_UNIMPLEMENTED.contains(k)) {
                throw new ImageException("Block protocol '" + driver + "' doesn't support the option '" + k + "'");
            }
            checkValue(k, e.getValue());
            if (NODE_OPTIONS.contains(k) || FILE_OPTIONS.contains(k)
                    || NODE_UNIMPLEMENTED.contains(k) && isOff(k, e.getValue())) {
                accepted.put(prefix + k, e.getValue());
            } else {
                throw new ImageException("Block protocol '" + driver + "' doesn't support the option '" + k
                        + "' (q2 does not implement it)");
            }
        }
    }

    private static void checkValue(String key, String value) throws ImageException {
        if (value == null) {
            throw new ImageException("Invalid parameter type for '" + key + "', expected: string");
        }
        if (BOOLEANS.contains(key) && !value.equals("on") && !value.equals("off")) {
            throw new ImageException("Parameter '" + key + "' expects 'on' or 'off'");
        }
        if (key.equals("locking") && !value.equals("on") && !value.equals("off") && !value.equals("auto")) {
            throw new ImageException("Parameter 'locking' does not accept value '" + value + "'");
        }
        if (key.equals("aio") && !value.equals("threads") && !value.equals("native") && !value.equals("io_uring")) {
            throw new ImageException("Parameter 'aio' does not accept value '" + value + "'");
        }
    }

    /** Whether a node option q2 does not implement has the value that asks for nothing (QEMU's default). */
    private static boolean isOff(String key, String value) {
        return key.equals("detect-zeroes") ? value.equals("off") : value.equals("ignore") || value.equals("off");
    }

    private static void checkDriver(String driver) throws ImageException {
        if (!driver.equals("qcow2") && !driver.equals("raw") && !isProtocol(driver)) {
            throw OTHER_DRIVERS.contains(driver) ? unsupportedDriver(driver)
                    : new ImageException("Unknown driver '" + driver + "'");
        }
    }

    private static boolean isProtocol(String driver) {
        return driver.equals("file") || driver.equals("host_device") || driver.equals("host_cdrom");
    }

    /** Whether {@code opts} has keys of child {@code name} ({@code name.x}). */
    private static boolean hasChild(Map<String, String> opts, String name) {
        for (String k : opts.keySet()) {
            if (k.startsWith(name + ".")) {
                return true;
            }
        }
        return false;
    }

    /** Removes child {@code name}'s keys from {@code opts} and returns them without the prefix. */
    private static Map<String, String> child(Map<String, String> opts, String name) {
        Map<String, String> child = new LinkedHashMap<>();
        String prefix = name + ".";
        java.util.Iterator<Map.Entry<String, String>> it = opts.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, String> e = it.next();
            if (e.getKey().startsWith(prefix)) {
                child.put(e.getKey().substring(prefix.length()), e.getValue());
                it.remove();
            }
        }
        return child;
    }

    /** The protocol prefix of a file name (text before a colon that comes before any slash), or null. */
    private static String protocol(String name) {
        return ChildNames.hasProtocol(name) ? name.substring(0, name.indexOf(':')) : null;
    }

    /**
     * This name with fewer references followed: the narrower of its own and {@code limit}.
     *
     * @param limit at most these references
     * @return the changed name
     */
    public ImageName limitedTo(References limit) {
        return limit.ordinal() > references.ordinal()
                ? new ImageName(filename, format, limit, dataFile, backingFormat, options, nested) : this;
    }

    /**
     * The format to open: {@code commandFormat} (a command's {@code -f}, which wins over the name's driver as in
     * qemu-img) when given, else the name's.
     *
     * @param commandFormat -f, or null
     * @return the format, or null to probe
     */
    public String format(String commandFormat) {
        return commandFormat != null ? commandFormat : format;
    }

    /**
     * Whether option {@code key} was given as {@code on}.
     *
     * @param key the flattened key
     * @return true when given as on
     */
    public boolean flag(String key) {
        return "on".equals(options.get(key));
    }

    /** The id of the secret that holds the image's key ({@code encrypt.key-secret}), or null. */
    public String keySecret() {
        return options.get(KEY_SECRET);
    }

    /** The id of the secret that holds the backing image's key ({@code backing.encrypt.key-secret}), or null. */
    public String backingKeySecret() {
        return options.get(BACKING_KEY_SECRET);
    }

    /** The backing image's file as the user named it ({@code backing.file.filename}), or null. */
    public String backingFilename() {
        return options.get(BACKING_FILENAME);
    }

    /**
     * The name QEMU gives the opened image (bdrv_refresh_filename, as qemu-img info shows it): a {@code json:} name
     * of the options that change what is read or how (qcow2's only such option is {@code encrypt.key-secret}), the
     * format its driver, the file its protocol node; null when it gives none of them, and the image is shown by its
     * file's name. The key secret's id is shown, never a secret.
     *
     * @param openedFormat the format the image opened with (probed or given)
     * @return the {@code json:} name, or null
     */
    public String refreshedFilename(String openedFormat) {
        String key = keySecret();
        if (key == null || nested != null) {
            return null;
        }
        // in the order bdrv_refresh_filename adds them; QDict iterates them in its hash order
        dev.q2.util.QDict file = new dev.q2.util.QDict().put("driver", "file").put("filename", filename);
        dev.q2.util.QDict top = new dev.q2.util.QDict().put(KEY_SECRET, key).put("driver", openedFormat)
                .put("file", file);
        return "json:" + dev.q2.util.QJson.compact(top);
    }

    /** @return whether this is the plain file name of an image with nothing but defaults (nothing to honour) */
    public boolean plain() {
        return format == null && references == References.ALL && dataFile == null && backingFormat == null
                && options.isEmpty();
    }

    private static ImageException unsupportedDriver(String driver) {
        return new ImageException("q2 does not support the block driver '" + driver
                + "' (q2 opens images in local files only: drivers qcow2, raw and file)");
    }

    private static ImageException unimplemented(String format, String key) {
        return new ImageException("Block format '" + format + "' does not support the option '" + key
                + "' (q2 does not implement it)");
    }
}
