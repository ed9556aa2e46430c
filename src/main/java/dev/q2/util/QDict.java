package dev.q2.util;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A JSON object that iterates its keys in the order QEMU's QDict does, so that q2's JSON and human output list keys
 * exactly as qemu-img does. QDict keeps 512 hash buckets (tdb_hash of the key) and puts a new key at the head of
 * its bucket; iteration walks the buckets in order. Keys added with {@link #putTrailing} are q2's own and follow
 * QEMU's keys in insertion order.
 */
public final class QDict {
    private static final int BUCKETS = 512;

    private final Map<String, Object> values = new LinkedHashMap<>();
    private final Map<String, Integer> insertion = new LinkedHashMap<>();
    private final List<String> trailing = new ArrayList<>();
    private int counter;

    /** Adds or replaces a key; null values are left out, as QAPI leaves out absent optional members. */
    public QDict put(String key, Object value) {
        if (value == null) {
            return this;
        }
        values.put(key, value);
        insertion.put(key, counter++);
        return this;
    }

    /**
     * Replaces the value of a key in its place (as qdict_put does for a key it holds), or adds it.
     *
     * @param key the key
     * @param value the new value (null: left as it is)
     * @return this
     */
    public QDict replace(String key, Object value) {
        if (value != null && values.containsKey(key)) {
            values.put(key, value);
            return this;
        }
        return put(key, value);
    }

    /** Adds a q2-only key after all of QEMU's keys. */
    public QDict putTrailing(String key, Object value) {
        if (value != null) {
            values.put(key, value);
            trailing.add(key);
        }
        return this;
    }

    public Object get(String key) {
        return values.get(key);
    }

    /** Keys in QEMU's iteration order, then q2's trailing keys. */
    public List<String> keys() {
        List<String> qemu = new ArrayList<>();
        for (String k : values.keySet()) {
            if (!trailing.contains(k)) {
                qemu.add(k);
            }
        }
        // By bucket, newest first within a bucket. A named comparator rather than Comparator.comparingInt(...)
        // lambdas, which cost a few milliseconds of method-handle set-up at the start of every run.
        qemu.sort(new QemuOrder());
        qemu.addAll(trailing);
        return qemu;
    }

    /** QDICT bucket of a key: tdb_hash(key) % 512. */
    static int bucket(String key) {
        byte[] b = key.getBytes(StandardCharsets.UTF_8);
        int value = 0x238F13AF * b.length;
        for (int i = 0; i < b.length; i++) {
            value += (b[i] & 0xff) << (i * 5 % 24);
        }
        int hash = 1103515243 * value + 12345;
        return (int) (Integer.toUnsignedLong(hash) % BUCKETS);
    }

    private final class QemuOrder implements Comparator<String> {
        @Override
        public int compare(String a, String b) {
            int c = Integer.compare(bucket(a), bucket(b));
            return c != 0 ? c : Integer.compare(insertion.get(b), insertion.get(a));
        }
    }
}
