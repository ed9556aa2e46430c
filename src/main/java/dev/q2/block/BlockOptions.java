package dev.q2.block;

import dev.q2.image.ImageException;
import dev.q2.util.JsonParser;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The two textual forms of QEMU's block options, read into one flat dictionary of dotted keys ({@code file.filename})
 * with string values, as QEMU's block layer sees them after {@code qdict_flatten}: a {@code json:} object (nested
 * objects flattened, lists as {@code key.0}, numbers and booleans as their text, booleans as {@code on}/{@code off})
 * and QemuOpts text ({@code driver=qcow2,file.filename=a,,b.qcow2}: {@code ,,} is a comma in a value; a word without
 * {@code =} is {@code word=on}; the last of a repeated key counts). JSON {@code null} is kept as a null value (QEMU's
 * {@code "backing": null}). {@link ImageName} gives the dictionary its meaning.
 */
public final class BlockOptions {
    /** At most this many options in one name, so a hostile name costs memory linear in its length. */
    static final int MAX_KEYS = 4096;

    private BlockOptions() {
    }

    /**
     * Reads the text after {@code json:}.
     *
     * @param json the JSON text
     * @return the flattened options, in the order given
     * @throws ImageException with QEMU's reason when it is not one JSON object
     */
    public static Map<String, String> fromJson(String json) throws ImageException {
        Object v;
        try {
            v = JsonParser.parse(json);
        } catch (JsonParser.JsonException e) {
            throw new ImageException("Could not parse the JSON options: " + e.getMessage());
        }
        if (!(v instanceof Map<?, ?> m)) {
            throw new ImageException("Invalid JSON object given");
        }
        Map<String, String> flat = new LinkedHashMap<>();
        flatten("", m, flat, 0);
        return flat;
    }

    private static void flatten(String prefix, Object v, Map<String, String> flat, int depth)
            throws ImageException {
        if (v instanceof Map<?, ?> m) {
            if (m.isEmpty() && !prefix.isEmpty()) {
                // an empty object names a child with no options: QEMU keeps it as an empty dictionary
                put(flat, prefix.substring(0, prefix.length() - 1), "{}", true);
            }
            for (Map.Entry<?, ?> e : m.entrySet()) {
                flatten(prefix + e.getKey() + ".", e.getValue(), flat, depth + 1);
            }
            return;
        }
        String key = prefix.substring(0, prefix.length() - 1);
        if (v instanceof List<?> l) {
            if (l.isEmpty()) {
                put(flat, key, "[]", true);
            }
            int i = 0;
            for (Object o : l) {
                flatten(key + "." + i++ + ".", o, flat, depth + 1);
            }
            return;
        }
        String s = v == null ? null : v instanceof Boolean b ? (b ? "on" : "off") : v.toString();
        // a key nested in an object wins over the same key given flattened, as qdict_flatten overwrites it
        put(flat, key, s, depth > 1);
    }

    private static void put(Map<String, String> flat, String key, String value, boolean nested)
            throws ImageException {
        if (flat.size() >= MAX_KEYS) {
            throw new ImageException("Too many block options");
        }
        if (nested || !flat.containsKey(key)) {
            flat.put(key, value);
        }
    }

    /**
     * Reads QemuOpts text ({@code --image-opts}, {@code q2 io open -o}).
     *
     * @param text the options
     * @param implied the key of a first word without {@code =} (qemu-img's "file"), or null to read such a word as
     *                {@code word=on}
     * @return the options, in the order given (a repeated key keeps its first place and its last value)
     * @throws ImageException with QemuOpts' reason for an empty key
     */
    public static Map<String, String> fromQemuOpts(String text, String implied) throws ImageException {
        Map<String, String> opts = new LinkedHashMap<>();
        int pos = 0;
        boolean first = true;
        while (pos <= text.length()) {
            StringBuilder word = new StringBuilder();
            int eq = -1;
            while (pos < text.length()) {
                char c = text.charAt(pos);
                if (c == ',') {
                    if (pos + 1 < text.length() && text.charAt(pos + 1) == ',') {
                        word.append(',');
                        pos += 2;
                        continue;
                    }
                    break;
                }
                if (c == '=' && eq < 0) {
                    eq = word.length();
                }
                word.append(c);
                pos++;
            }
            pos++; // past the comma (or the end)
            String w = word.toString();
            if (w.isEmpty() && pos > text.length()) {
                break; // a trailing comma, or no text at all
            }
            if (eq < 0 && first && implied != null) {
                put(opts, implied, w);
            } else if (eq < 0) {
                if (w.isEmpty()) {
                    throw new ImageException("Invalid parameter ''");
                }
                put(opts, w, "on");
            } else {
                if (eq == 0) {
                    throw new ImageException("Invalid parameter ''");
                }
                put(opts, w.substring(0, eq), w.substring(eq + 1));
            }
            first = false;
        }
        return opts;
    }

    private static void put(Map<String, String> opts, String key, String value) throws ImageException {
        if (opts.size() >= MAX_KEYS && !opts.containsKey(key)) {
            throw new ImageException("Too many block options");
        }
        opts.put(key, value);
    }
}
