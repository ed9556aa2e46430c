package dev.q2.create;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The -o options of a qcow2 create, as given (strings), and their meaning once checked. Values that were not given
 * are null, so the "Formatting" line can show exactly what qemu-img shows.
 */
public final class CreateOptions {
    /** Option names in the order qemu-img's "Formatting" line lists them, and whether they have a default. */
    static final String[] FORMATTING_ORDER = {
        "encryption", "encrypt.format", "encrypt.key-secret", "encrypt.cipher-alg", "encrypt.cipher-mode",
        "encrypt.ivgen-alg", "encrypt.ivgen-hash-alg", "encrypt.hash-alg", "encrypt.iter-time", "cluster_size", "extended_l2", "preallocation", "compression_type", "size", "compat",
        "backing_file", "backing_fmt", "data_file", "data_file_raw", "lazy_refcounts", "refcount_bits",
        "nocow", "extent_size_hint"}; // (the last two: file-posix's, after the format's)

    /** Options q2 accepts, with their help text (as qemu-img's -o help lists them). */
    static final Map<String, String> HELP = new LinkedHashMap<>();

    static {
        HELP.put("backing_file=<str>", "File name of a base image");
        HELP.put("backing_fmt=<str>", "Image format of the base image");
        HELP.put("cluster_size=<size>", "qcow2 cluster size");
        HELP.put("compat=<str>", "Compatibility level (v2 [0.10] or v3 [1.1])");
        HELP.put("compression_type=<str>", "Compression method used for image cluster compression");
        HELP.put("data_file=<str>", "File name of an external data file");
        HELP.put("data_file_raw=<bool (on/off)>", "The external data file must stay valid as a raw image");
        HELP.put("extended_l2=<bool (on/off)>", "Extended L2 tables");
        HELP.put("lazy_refcounts=<bool (on/off)>", "Postpone refcount updates");
        HELP.put("preallocation=<str>", "Preallocation mode (allowed values: off, metadata, falloc, full)");
        HELP.put("refcount_bits=<num>", "Width of a reference count entry in bits");
        HELP.put("size=<size>", "Virtual disk size");
    }

    /** Raw values by option name, last one given wins. */
    final Map<String, String> raw = new LinkedHashMap<>();

    public String get(String name) {
        return raw.get(name);
    }

    public void set(String name, String value) {
        raw.put(name, value);
    }

    public static String helpText() {
        StringBuilder sb = new StringBuilder("Supported qcow2 options:\n");
        for (var e : HELP.entrySet()) {
            sb.append(String.format("  %-22s - %s%n", e.getKey(), e.getValue()));
        }
        return sb.toString();
    }
}
