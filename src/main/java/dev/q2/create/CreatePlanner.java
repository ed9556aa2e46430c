package dev.q2.create;

import dev.q2.format.L2Geometry;
import dev.q2.format.QcowHeader;
import dev.q2.image.ImageException;
import dev.q2.format.Limits;
import dev.q2.image.Qcow2Metadata;
import dev.q2.util.Sizes;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Turns a {@link CreateRequest} into a {@link CreateSpec}, refusing what qemu-img create refuses, with its reasons
 * and in its order, so that the first error a user sees is the one qemu-img would show. Nothing is written here.
 */
public final class CreatePlanner {
    private static final Set<String> KNOWN = Set.of("size", "compat", "backing_file", "backing_fmt", "data_file",
            "data_file_raw", "cluster_size", "extended_l2", "preallocation", "lazy_refcounts", "refcount_bits",
            "compression_type", "encryption", "encrypt.format", "encrypt.key-secret", "encrypt.cipher-alg",
            "encrypt.cipher-mode", "encrypt.ivgen-alg", "encrypt.ivgen-hash-alg", "encrypt.hash-alg",
            "encrypt.iter-time", "nocow", "extent_size_hint");
    private static final Set<String> BOOLEANS = Set.of("data_file_raw", "extended_l2", "lazy_refcounts",
            "encryption", "nocow");
    /** Options of QEMU's file protocol that qemu-img measure accepts beside the format's own (create options). */
    public static final Set<String> FILE_PROTOCOL_OPTIONS = Set.of("size", "preallocation", "nocow",
            "extent_size_hint");
    /** Formats QEMU's BlockdevDriver enumeration knows; backing_fmt must name one of them. */
    private static final Set<String> DRIVERS = Set.of("blkdebug", "blklogwrites", "blkreplay", "blkverify", "bochs",
            "cloop", "compress", "copy-before-write", "copy-on-read", "dmg", "file", "snapshot-access", "ftp", "ftps",
            "gluster", "host_cdrom", "host_device", "http", "https", "iscsi", "luks", "nbd", "nfs", "null-aio",
            "null-co", "nvme", "parallels", "preallocate", "qcow", "qcow2", "qed", "quorum", "raw", "rbd",
            "replication", "ssh", "throttle", "vdi", "vhdx", "vmdk", "vpc", "vvfat");

    /** A plan: the spec to write and the "Formatting ..." line qemu-img prints for it. */
    public record Plan(CreateSpec spec, String formattingLine, List<String> warnings, EncryptionRequest encryption) {
        /** A plan without encryption. */
        public Plan(CreateSpec spec, String formattingLine, List<String> warnings) {
            this(spec, formattingLine, warnings, null);
        }

    }

    private CreatePlanner() {
    }

    /** Parses one -o argument into {@code into}; later values win, as in qemu-img. */
    public static void parseOptions(String text, CreateOptions into) throws CreateException {
        parseOptions(text, into, KNOWN);
    }

    /** The qcow2 create options q2 knows (encryption included), for callers that accept more (measure). */
    public static Set<String> qcow2Options() {
        return KNOWN;
    }

    /**
     * Parses one -o argument with the option names {@code known} (QEMU's QemuOpts rules: unknown names, booleans
     * and sizes checked as given, later values win).
     */
    public static void parseOptions(String text, CreateOptions into, Set<String> known) throws CreateException {
        for (String item : splitEscaped(text)) {
            if (item.isEmpty()) {
                continue;
            }
            int eq = item.indexOf('=');
            String key = eq < 0 ? item : item.substring(0, eq);
            String value = eq < 0 ? "on" : item.substring(eq + 1);
            if (!known.contains(key)) {
                throw new CreateException("Invalid parameter '" + key + "'", false);
            }
            if (BOOLEANS.contains(key) && parseBool(value) == null) {
                throw new CreateException("Parameter '" + key + "' expects 'on' or 'off'", false);
            }
            if (key.equals("cluster_size") || key.equals("size") || key.equals("extent_size_hint")) {
                try {
                    Sizes.parse(value);
                } catch (Sizes.SizeFormatException e) {
                    // QemuOpts' two hint lines come without the program name
                    throw new CreateException("Parameter '" + key + "' expects a non-negative number below 2^64\n"
                            + "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
                            + "and exabytes, respectively.", false);
                }
            }
            if (key.equals("refcount_bits") || key.equals("encrypt.iter-time")) {
                // QEMU's number options: strtoull's syntax, negative values wrapped to 64 bits
                EncryptOptions.parseNumber(key, value);
            }
            into.set(key, value);
        }
    }

    /** Splits on commas, where ",," stands for a literal comma (QEMU's option syntax). */
    static List<String> splitEscaped(String text) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == ',') {
                if (i + 1 < text.length() && text.charAt(i + 1) == ',') {
                    cur.append(',');
                    i++;
                } else {
                    out.add(cur.toString());
                    cur.setLength(0);
                }
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString());
        return out;
    }

    static Boolean parseBool(String v) {
        return switch (v) {
            case "on", "yes", "true", "y" -> Boolean.TRUE;
            case "off", "no", "false", "n" -> Boolean.FALSE;
            default -> null;
        };
    }

    /** Parses the positional size argument with qemu-img create's messages. */
    public static long parseSizeArgument(String arg, List<String> warnings) throws CreateException {
        try {
            Sizes.Parsed p = Sizes.parse(arg);
            if (p.value() < 0) {
                throw new CreateException(
                        "Invalid image size specified. Must be between 0 and 9223372036854775807.", false);
            }
            if (p.hexWithSuffix()) {
                warnings.add("warning: Using a multiplier suffix on hex numbers is deprecated: " + arg);
            }
            return p.value();
        } catch (Sizes.SizeFormatException e) {
            if (e.outOfRange()) {
                throw new CreateException(
                        "Invalid image size specified. Must be between 0 and 9223372036854775807.", false);
            }
            throw new CreateException("Invalid image size specified. You may use k, M, G, T, P or E suffixes for"
                    + " kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.", false);
        }
    }

    /** Checks a request; throws what qemu-img would report first. */
    public static Plan plan(CreateRequest req) throws CreateException {
        return plan(req, null);
    }

    /**
     * Checks a request whose key secret (encrypt.key-secret) is looked up among {@code secrets}; throws what qemu-img
     * would report first.
     */
    public static Plan plan(CreateRequest req, dev.q2.crypto.Secrets secrets) throws CreateException {
        List<String> warnings = new ArrayList<>();
        Long size = null;
        if (req.sizeArgument() != null) {
            size = parseSizeArgument(req.sizeArgument(), warnings);
        }
        CreateOptions o = req.options();
        if (req.backingFile() != null) {
            o.set("backing_file", req.backingFile());
        }
        if (req.backingFormat() != null) {
            o.set("backing_fmt", req.backingFormat());
        }
        if (size != null && o.get("size") != null) {
            throw new CreateException("The image size must be specified only once", false);
        }
        if (size == null && o.get("size") != null) {
            size = optionSize(o.get("size"));
        }
        String backing = o.get("backing_file");
        String backingFmt = o.get("backing_fmt");
        if (backing != null) {
            if (backing.equals(req.filename())) {
                throw new CreateException(
                        "Error: Trying to create an image with the same filename as the backing file", false);
            }
            if (backing.isEmpty()) {
                throw new CreateException("Expected backing file name, got empty string", false);
            }
            String shown = combinedName(req.filename(), backing);
            if (backingFmt == null) {
                if (req.unsafe()) {
                    throw new CreateException("Backing file specified without backing format", false);
                }
                String detected = probe(backingPath(req, shown), shown);
                throw new CreateException("Backing file specified without backing format (detected format of "
                        + detected + ")", false);
            }
            if (!req.unsafe() && DRIVERS.contains(backingFmt)) {
                long backingSize = backingSize(backingPath(req, shown), shown, backingFmt);
                if (size == null) {
                    size = backingSize;
                }
            }
        }
        if (size == null) {
            throw new CreateException("Image creation needs a size parameter", false);
        }
        o.set("size", Long.toString(size));
        String formatting = formattingLine(req.filename(), o);
        Object[] encryption = new Object[1]; // (not an EncryptionRequest[]: that would load it for every create)
        CreateSpec spec = validate(o, size, secrets, encryption);
        return new Plan(spec, formatting, warnings, (EncryptionRequest) encryption[0]);
    }

    /** The backing file to open: a name given on the command line, json:, file: and protocols read as QEMU reads them. */
    private static Path backingPath(CreateRequest req, String shown) throws CreateException {
        try {
            return req.workDir().resolve(dev.q2.format.ChildNames.hasProtocol(shown)
                    ? dev.q2.block.ImageName.parse(shown).filename() : shown);
        } catch (dev.q2.image.ImageException e) {
            throw new CreateException(e.getMessage() + "; could not open backing image", false);
        }
    }

    private static long optionSize(String v) throws CreateException {
        try {
            long s = Sizes.parse(v).value();
            if (s < 0) {
                throw new CreateException(
                        "Invalid image size specified. Must be between 0 and 9223372036854775807.", false);
            }
            return s;
        } catch (Sizes.SizeFormatException e) {
            throw new CreateException("Parameter 'size' expects a non-negative number below 2^64", false);
        }
    }

    /**
     * The name of a backing file as QEMU shows it ({@link dev.q2.format.ChildNames#backing}): relative names are
     * relative to the folder of the image that names them.
     */
    public static String combinedName(String imageFilename, String named) {
        return dev.q2.format.ChildNames.backing(imageFilename, named);
    }

    private static String probe(Path file, String shown) throws CreateException {
        if (!Files.exists(file)) {
            throw new CreateException("Could not open '" + shown + "': No such file or directory; could not open"
                    + " backing image", false);
        }
        try {
            return dev.q2.image.Devices.probe(file);
        } catch (IOException e) {
            throw new CreateException(openError(shown, e) + "; could not open backing image", false);
        }
    }

    private static long backingSize(Path file, String shown, String fmt) throws CreateException {
        try {
            if (fmt.equals("qcow2")) {
                try (Qcow2Metadata img = Qcow2Metadata.openMetadata(file)) { // as QEMU: BDRV_O_NO_IO
                    return img.virtualSize();
                }
            }
            if (!Files.exists(file)) {
                throw new NoSuchFileException(file.toString());
            }
            if (dev.q2.probe.FormatProber.FOREIGN.contains(fmt)) {
                // a vmdk, vdi, ... backing file: the size its header gives (nothing it names is opened)
                try (dev.q2.io.ImageFile f = dev.q2.io.ImageFile.openReadOnly(file)) {
                    return dev.q2.probe.FormatProber.readHeader(f, fmt).virtualSize();
                }
            }
            return Files.size(file);
        } catch (ImageException e) {
            throw new CreateException("Could not open '" + shown + "': " + e.getMessage()
                    + "; could not open backing image", false);
        } catch (IOException e) {
            throw new CreateException(openError(shown, e) + "; could not open backing image", false);
        }
    }

    static String openError(String file, IOException e) {
        String reason = e instanceof NoSuchFileException ? "No such file or directory"
                : e instanceof java.nio.file.AccessDeniedException ? "Permission denied" : e.getMessage();
        return "Could not open '" + file + "': " + reason;
    }

    public static String formattingLine(String filename, CreateOptions o) {
        StringBuilder sb = new StringBuilder("Formatting '").append(filename).append("', fmt=qcow2");
        for (String key : CreateOptions.FORMATTING_ORDER) {
            String v = o.get(key);
            if (v == null) {
                v = switch (key) {
                    case "cluster_size" -> "65536";
                    case "extended_l2", "lazy_refcounts" -> "off";
                    case "compression_type" -> "zlib";
                    case "refcount_bits" -> "16";
                    default -> null;
                };
            } else if (key.equals("cluster_size") || key.equals("extent_size_hint")) {
                v = Long.toString(sizeOrZero(v));
            } else if (key.equals("encrypt.iter-time") || key.equals("refcount_bits")) {
                v = EncryptOptions.formatted(v);
            }
            if (v != null) {
                sb.append(' ').append(key).append('=').append(v);
            }
        }
        return sb.toString();
    }

    private static long sizeOrZero(String v) {
        try {
            return Sizes.parse(v).value();
        } catch (Sizes.SizeFormatException e) {
            return 0;
        }
    }

    private static CreateSpec validate(CreateOptions o, long size, dev.q2.crypto.Secrets secrets,
                                       Object[] encryption) throws CreateException {
        // file-posix's raw_co_create, before it creates the file: the hint must fit in 32 bits. It only means
        // something on file systems with extent size hints (XFS), where QEMU sets it; q2 accepts and ignores it,
        // as QEMU does elsewhere (nocow likewise: btrfs only).
        if (o.get("extent_size_hint") != null && Long.compareUnsigned(sizeOrZero(o.get("extent_size_hint")),
                0xffffffffL) > 0) {
            throw new CreateException("Extent size hint is too large", true);
        }
        if (size < 0) {
            throw new CreateException("Invalid image size specified. Must be between 0 and 9223372036854775807.",
                    true);
        }
        EncryptOptions.checkAlias(o);
        int version = 3;
        String compat = o.get("compat");
        if (compat != null) {
            version = switch (compat) {
                case "0.10", "v2" -> 2;
                case "1.1", "v3" -> 3;
                default -> throw new CreateException("Parameter 'version' does not accept value '" + compat + "'",
                        true);
            };
        }
        String backingFmt = o.get("backing_fmt");
        if (backingFmt != null && !DRIVERS.contains(backingFmt)) {
            throw new CreateException("Parameter 'backing-fmt' does not accept value '" + backingFmt + "'", true);
        }
        String encryptFormat = EncryptOptions.check(o);
        String p = o.get("preallocation");
        Preallocation prealloc = p == null ? Preallocation.OFF : Preallocation.fromOption(p);
        if (prealloc == null) {
            throw new CreateException("Parameter 'preallocation' does not accept value '" + p + "'", true);
        }
        // The create options reach the qcow2 driver as text that QAPI reads as a signed 64-bit number: a value
        // that only the unsigned reading accepted (beyond 2^63-1, or below -2^63) stops here.
        Long refcountBits = o.get("refcount_bits") == null ? Long.valueOf(16) : int64(o.get("refcount_bits"));
        if (refcountBits == null) {
            throw new CreateException("Parameter 'refcount-bits' expects integer", true);
        }
        int compressionType = QcowHeader.COMPRESSION_ZLIB;
        String ct = o.get("compression_type");
        if (ct != null) {
            compressionType = switch (ct) {
                case "zlib" -> QcowHeader.COMPRESSION_ZLIB;
                case "zstd" -> QcowHeader.COMPRESSION_ZSTD;
                default -> throw new CreateException(
                        "Parameter 'compression-type' does not accept value '" + ct + "'", true);
            };
        }

        // Rounded up to whole sectors, as QEMU does before it creates the image.
        long roundedSize = size > Long.MAX_VALUE - 511 ? size : (size + 511) & ~511L;
        boolean extendedL2 = Boolean.TRUE.equals(parseBool(orDefault(o.get("extended_l2"), "off")));
        // The checks below run in qcow2_co_create's order, so the first error is the one qemu-img reports.
        if (extendedL2 && version < 3) {
            throw new CreateException("Extended L2 entries are only supported with compatibility level 1.1"
                    + " and above (use version=v3 or greater)", true);
        }
        long clusterSize = o.get("cluster_size") == null ? 65536 : sizeOrZero(o.get("cluster_size"));
        if (clusterSize < 512 || clusterSize > (2L << 20) || Long.bitCount(clusterSize) != 1) {
            throw new CreateException("Cluster size must be a power of two between 512 and 2048k", true);
        }
        int clusterBits = Long.numberOfTrailingZeros(clusterSize);
        if (extendedL2 && clusterSize < 16384) {
            throw new CreateException(
                    "Extended L2 entries are only supported with cluster sizes of at least 16384 bytes", true);
        }
        String backing = o.get("backing_file");
        if (backing != null && prealloc != Preallocation.OFF && !extendedL2) {
            throw new CreateException("Backing file and preallocation can only be used at the same time if"
                    + " extended_l2 is on", true);
        }
        if (backingFmt != null && backing == null) {
            throw new CreateException("Backing format cannot be used without backing file", true);
        }
        boolean lazy = Boolean.TRUE.equals(parseBool(orDefault(o.get("lazy_refcounts"), "off")));
        if (lazy && version < 3) {
            throw new CreateException("Lazy refcounts only supported with compatibility level 1.1 and above (use"
                    + " version=v3 or greater)", true);
        }
        if (refcountBits < 1 || refcountBits > 64 || Long.bitCount(refcountBits) != 1) {
            throw new CreateException("Refcount width must be a power of two and may not exceed 64 bits", true);
        }
        if (version < 3 && refcountBits != 16) {
            throw new CreateException("Different refcount widths than 16 bits require compatibility level 1.1 or"
                    + " above (use version=v3 or greater)", true);
        }
        String dataFile = o.get("data_file");
        boolean dataFileRaw = Boolean.TRUE.equals(parseBool(orDefault(o.get("data_file_raw"), "off")));
        if (dataFileRaw && dataFile == null) {
            throw new CreateException("data-file-raw requires data-file", true);
        }
        if (dataFileRaw && backing != null) {
            throw new CreateException("Backing file and data-file-raw cannot be used at the same time", true);
        }
        if (dataFile != null && version < 3) {
            throw new CreateException("External data files are only supported with compatibility level 1.1 and"
                    + " above (use version=v3 or greater)", true);
        }
        if (compressionType != QcowHeader.COMPRESSION_ZLIB && version < 3) {
            throw new CreateException("Non-zlib compression type is only supported with compatibility level 1.1"
                    + " and above (use version=v3 or greater)", true);
        }
        int l2Bits = L2Geometry.l2Bits(clusterBits, extendedL2);
        long coverage = clusterSize << l2Bits;
        long l1Entries = roundedSize / coverage + (roundedSize % coverage != 0 ? 1 : 0);
        if (l1Entries * 8 > Limits.MAX_L1_SIZE) {
            throw new CreateException("The image size is too large for file format 'qcow2' (try using a larger"
                    + " cluster size)", true);
        }
        if (backing != null && backing.getBytes(java.nio.charset.StandardCharsets.UTF_8).length
                > Limits.MAX_BACKING_FILE_NAME) {
            throw new CreateException("Backing file name too long", true);
        }
        if (encryptFormat != null) {
            // QEMU sets up encryption last, and asks for the secret first
            encryption[0] = EncryptOptions.request(o, encryptFormat, secrets);
        }
        if (dataFileRaw && prealloc == Preallocation.OFF) {
            prealloc = Preallocation.METADATA; // every cluster must be mapped for the data file to stay raw
        }
        return new CreateSpec(roundedSize, clusterBits, version, extendedL2, Long.numberOfTrailingZeros(refcountBits),
                lazy, prealloc, compressionType, backing, backingFmt, dataFile, dataFileRaw);
    }

    private static String orDefault(String v, String d) {
        return v == null ? d : v;
    }

    /** strtoll's reading (base 0, whole string) of a number option, or null when it is not a signed 64-bit number. */
    private static Long int64(String v) {
        java.math.BigInteger n = EncryptOptions.strtol(v);
        return n == null || n.bitLength() > 63 ? null : n.longValue();
    }
}
