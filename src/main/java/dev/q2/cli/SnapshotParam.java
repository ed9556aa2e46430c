package dev.q2.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code -l} argument of qemu-img convert and measure: {@code snapshot.id=ID,snapshot.name=NAME} (either key,
 * parsed as QEMU's option parser parses internal_snapshot_opts) or, when it does not start with {@code snapshot.},
 * a snapshot's ID or name. Of several {@code -l}, the last of each kind counts, and a {@code snapshot.} form wins
 * over a plain name wherever it comes (qemu-img keeps the two apart and looks at the first first).
 */
final class SnapshotParam {
    /** From the last {@code snapshot.} form: {ID or null, name or null}; null when there was none. */
    private String[] idAndName;
    /** The last plain ID-or-name, or null. */
    private String idOrName;

    /** A {@code -l} QEMU refuses while the options are read: the lines to print (warnings first). */
    static final class Refused extends Exception {
        private final List<String> lines;

        Refused(List<String> lines) {
            super(String.join("\n", lines), null, false, false);
            this.lines = lines;
        }

        List<String> lines() {
            return lines;
        }
    }

    /**
     * Takes one {@code -l} argument. A {@code snapshot.} form is parsed now, as qemu-img parses it while reading its
     * options; a short-form flag (a key without {@code =}) takes the value "on" with QEMU's two warning lines, which
     * go to {@code warnings}.
     *
     * @throws Refused with QEMU's "Invalid parameter 'K'" and "Failed in parsing snapshot param 'V'"
     */
    void add(String arg, List<String> warnings) throws Refused {
        if (!arg.startsWith("snapshot.")) {
            idOrName = arg;
            return;
        }
        String[] result = new String[2];
        int at = 0;
        while (at < arg.length()) {
            int eq = indexOfAny(arg, at, "=,");
            String key;
            String value;
            if (eq < 0 || arg.charAt(eq) == ',') {
                int end = eq < 0 ? arg.length() : eq;
                key = arg.substring(at, end);
                value = "on";
                warnings.add("q2: warning: short-form boolean option '" + key + "' deprecated");
                warnings.add("Please use " + key + "=on instead");
                at = end < arg.length() ? end + 1 : end;
            } else {
                key = arg.substring(at, eq);
                StringBuilder v = new StringBuilder();
                int i = dev.q2.util.QemuOptValue.read(arg, eq + 1, v); // ",," is a comma in the value
                value = v.toString();
                at = i < arg.length() ? i + 1 : i;
            }
            if (key.equals("snapshot.id")) {
                result[0] = value;
            } else if (key.equals("snapshot.name")) {
                result[1] = value;
            } else {
                List<String> lines = new ArrayList<>(warnings);
                warnings.clear();
                lines.add("q2: Invalid parameter '" + key + "'");
                lines.add("q2: Failed in parsing snapshot param '" + arg + "'");
                throw new Refused(lines);
            }
        }
        idAndName = result;
    }

    private static int indexOfAny(String s, int from, String chars) {
        for (int i = from; i < s.length(); i++) {
            if (chars.indexOf(s.charAt(i)) >= 0) {
                return i;
            }
        }
        return -1;
    }

    /** @return whether any {@code -l} was given */
    boolean given() {
        return idAndName != null || idOrName != null;
    }

    /** @return whether the snapshot is named by ID or name alone (qemu-img's snapshot_name), not by snapshot.* */
    boolean byIdOrName() {
        return idAndName == null && idOrName != null;
    }

    /**
     * Loads the snapshot into {@code source} as qemu-img does: bdrv_snapshot_load_tmp for the {@code snapshot.}
     * form, bdrv_snapshot_load_tmp_by_id_or_name for a plain argument.
     *
     * @throws java.io.IOException with QEMU's reason (the caller prefixes "Failed to load snapshot: ")
     */
    void load(dev.q2.block.BlockGraph source) throws java.io.IOException {
        if (idAndName != null) {
            source.loadSnapshot(idAndName[0], idAndName[1]);
        } else {
            source.loadSnapshotByIdOrName(idOrName);
        }
    }
}
