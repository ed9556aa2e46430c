package dev.q2.guestio;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How q2 io opened the image it has open (its file operand, {@code open}, {@code reopen}), so that {@code reopen}
 * and {@code truncate} can open it again as it was.
 *
 * @param name the image's name as given
 * @param format "qcow2", "raw", or null for the command line's format (or probing)
 * @param options the block options given with {@code -o} (qcow2 runtime options)
 * @param readOnly opened read-only
 * @param forceShare opened without locks (-U)
 * @param snapshot writes go to a temporary overlay (-s, QEMU's snapshot=on)
 * @param copyOnRead reads copy what the backing chain provides into the image (-C)
 */
record OpenSpec(String name, String format, Map<String, String> options, boolean readOnly, boolean forceShare,
                boolean snapshot, boolean copyOnRead) {
    OpenSpec {
        options = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(options));
    }

    OpenSpec withReadOnly(boolean ro) {
        return new OpenSpec(name, format, options, ro, forceShare, snapshot, copyOnRead);
    }

    /** These options with {@code changes} applied over them (QEMU's reopen keeps the options it is not given). */
    OpenSpec withOptions(Map<String, String> changes) {
        Map<String, String> merged = new LinkedHashMap<>(options);
        merged.putAll(changes);
        return new OpenSpec(name, format, merged, readOnly, forceShare, snapshot, copyOnRead);
    }
}
