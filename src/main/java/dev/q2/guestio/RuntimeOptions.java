package dev.q2.guestio;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The block options of qemu-io's {@code reopen -o} on a qcow2 image (or a raw file), checked in the order and the
 * words of QEMU 7.2's bdrv_reopen_prepare and qcow2_update_options: the generic options first, then the qcow2
 * driver's (types, cache sizes, the cache clean interval, lazy refcounts, overlap checks), and last the options
 * that cannot change. q2's engine honours {@code lazy-refcounts} and the L2 cache options; the others are checked
 * and accepted, and change nothing in how q2 reads and writes (docs/compatibility.md, q2 io).
 */
final class RuntimeOptions {
    private RuntimeOptions() {
    }

    /** A refusal in QEMU's words (which may hold several lines). */
    static final class Refused extends Exception {
        Refused(String message) {
            super(message);
        }
    }

    private static final List<String> BOOLEANS = List.of("read-only", "auto-read-only", "cache.direct",
            "cache.no-flush", "lazy-refcounts", "pass-discard-request", "pass-discard-snapshot",
            "pass-discard-other");
    private static final List<String> OVERLAP_KINDS = List.of("main-header", "active-l1", "active-l2",
            "refcount-table", "refcount-block", "snapshot-table", "inactive-l1", "inactive-l2", "bitmap-directory");
    private static final List<String> OVERLAP_TEMPLATES = List.of("none", "constant", "cached", "all");

    /**
     * Reads {@code text} ("k=v,k2=v2") as QEMU's option parser does: later keys win, a key without a value is a
     * deprecated short-form boolean (its warning goes to {@code warnings}).
     */
    static Map<String, String> parse(String text, List<String> warnings) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String kv : text.split(",")) {
            if (kv.isEmpty()) {
                continue;
            }
            int eq = kv.indexOf('=');
            if (eq < 0) {
                warnings.add("warning: short-form boolean option '" + kv + "' deprecated\nPlease use " + kv
                        + "=on instead");
                m.put(kv, "on");
            } else {
                m.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        return m;
    }

    /**
     * Checks the options a reopen gives for an image of {@code format} with {@code clusterSize} bytes per cluster,
     * virtual {@code size}, L2 entries of {@code l2EntryBytes}, format {@code version}, and a backing file of
     * format {@code backingFormat} (null without one). {@code current} holds the options the image was opened with
     * (an unchangeable option may be repeated with its value).
     */
    static void check(Map<String, String> opts, Map<String, String> current, String format, long clusterSize,
                      long size, int l2EntryBytes, int version, String backingFormat) throws Refused {
        for (String k : BOOLEANS) {
            if (opts.containsKey(k) && (format.equals("qcow2") || !isQcow2Only(k))) {
                bool(k, opts.get(k));
            }
        }
        String discard = opts.get("discard");
        if (discard != null && !List.of("ignore", "off", "unmap", "on").contains(discard)) {
            throw new Refused("Invalid discard option");
        }
        String detect = opts.get("detect-zeroes");
        if (detect != null && !List.of("off", "on", "unmap").contains(detect)) {
            throw new Refused("invalid parameter value: " + detect);
        }
        if (format.equals("qcow2")) {
            for (String kind : OVERLAP_KINDS) {
                if (opts.containsKey("overlap-check." + kind)) {
                    bool("overlap-check." + kind, opts.get("overlap-check." + kind));
                }
            }
            String interval = opts.get("cache-clean-interval");
            if (interval != null && !interval.matches("-?[0-9]+|0[xX][0-9a-fA-F]+")) {
                throw new Refused("Parameter 'cache-clean-interval' expects a number");
            }
            Map<String, String> cache = new LinkedHashMap<>();
            for (String k : CacheOptions.KEYS) {
                if (opts.containsKey(k)) {
                    cache.put(k, opts.get(k));
                }
            }
            CacheOptions resolved;
            try {
                resolved = CacheOptions.resolve(cache, clusterSize, size, l2EntryBytes);
            } catch (CacheOptions.Refused e) {
                throw new Refused(e.getMessage());
            }
            if (resolved.l2CacheBytes() / resolved.l2EntrySize() > Integer.MAX_VALUE) {
                throw new Refused("L2 cache size too big");
            }
            String refcount = cache.get("refcount-cache-size");
            if (refcount != null && Long.compareUnsigned(refcountBytes(refcount) / clusterSize,
                    Integer.MAX_VALUE) > 0) {
                throw new Refused("Refcount cache size too big");
            }
            if (interval != null && (interval.startsWith("-") || Long.compareUnsigned(
                    Long.decode(interval), 0xffffffffL) > 0)) {
                throw new Refused("Cache clean interval too big");
            }
            if ("on".equals(opts.get("lazy-refcounts")) && version < 3) {
                throw new Refused("Lazy refcounts require a qcow2 image with at least qemu 1.1 compatibility level");
            }
            String template = opts.get("overlap-check.template");
            String overlap = opts.get("overlap-check");
            if (overlap != null && template != null && !overlap.equals(template)) {
                throw new Refused("Conflicting values for qcow2 options 'overlap-check' ('" + overlap
                        + "') and 'overlap-check.template' ('" + template + "')");
            }
            String chosen = overlap != null ? overlap : template;
            if (chosen != null && !OVERLAP_TEMPLATES.contains(chosen)) {
                throw new Refused("Unsupported value '" + chosen + "' for qcow2 option 'overlap-check'. Allowed are"
                        + " any of the following: none, constant, cached, all");
            }
        }
        for (Map.Entry<String, String> e : opts.entrySet()) {
            String k = e.getKey();
            if (handled(k, format)) {
                continue;
            }
            String v = e.getValue();
            String stays = current.get(k);
            if (k.equals("driver") && v.equals(format) || k.equals("file.driver") && v.equals("file")
                    || k.equals("backing.driver") && backingFormat != null && v.equals(backingFormat)
                    || stays != null && stays.equals(v)) {
                continue;
            }
            if (k.startsWith("backing.") && backingFormat == null) {
                throw new Refused("Cannot change the option '" + k + "'");
            }
            String name = k.startsWith("file.") || k.startsWith("backing.") ? k.substring(k.indexOf('.') + 1) : k;
            throw new Refused("Cannot change the option '" + name + "'");
        }
    }

    private static long refcountBytes(String v) {
        try {
            return dev.q2.util.Sizes.parse(v).value();
        } catch (dev.q2.util.Sizes.SizeFormatException e) {
            return 0; // (refused by CacheOptions first)
        }
    }

    private static boolean isQcow2Only(String key) {
        return key.equals("lazy-refcounts") || key.startsWith("pass-discard-");
    }

    /** An option reopen takes (checked above); the others must keep their value. */
    private static boolean handled(String k, String format) {
        if (List.of("read-only", "auto-read-only", "cache.direct", "cache.no-flush", "discard", "detect-zeroes")
                .contains(k)) {
            return true;
        }
        return format.equals("qcow2") && (BOOLEANS.contains(k) || CacheOptions.KEYS.contains(k)
                || k.equals("cache-clean-interval") || k.equals("overlap-check")
                || k.equals("overlap-check.template")
                || k.startsWith("overlap-check.") && OVERLAP_KINDS.contains(k.substring("overlap-check.".length())));
    }

    private static void bool(String key, String value) throws Refused {
        if (!value.equals("on") && !value.equals("off")) {
            throw new Refused("Parameter '" + key + "' expects 'on' or 'off'");
        }
    }
}
