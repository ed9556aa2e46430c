package dev.q2.util;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The iteration order of a GLib {@code GHashTable} of strings (g_str_hash, open addressing with quadratic probing,
 * GLib 2.74 as in Debian 12), for the few places where qemu-img's output depends on it: QEMU's QObject input
 * visitor keeps the members it has not read yet in such a table and names the first one it iterates to in
 * "Parameter '...' is unexpected". Insertions and removals are replayed in the caller's order, with GLib's
 * tombstones and its in-place resize, because both move keys.
 */
public final class GHashOrder {
    private static final int[] PRIME_MOD = {1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021};
    private static final int MIN_SHIFT = 3;
    private static final int UNUSED = 0;
    private static final int TOMBSTONE = 1;

    private int size;
    private int mod;
    private int mask;
    private int[] hashes;
    private String[] keys;
    private int nnodes;
    private int noccupied;

    public GHashOrder() {
        setShift(MIN_SHIFT);
        hashes = new int[size];
        keys = new String[size];
    }

    private void setShift(int shift) {
        size = 1 << shift;
        mod = PRIME_MOD[shift];
        mask = size - 1;
    }

    /** g_str_hash: djb2 over the bytes as signed chars; 0 and 1 are reserved, so they become 2. */
    static int strHash(String key) {
        int h = 5381;
        for (byte c : key.getBytes(StandardCharsets.UTF_8)) {
            h = (h << 5) + h + c;
        }
        return Integer.compareUnsigned(h, 2) < 0 ? 2 : h;
    }

    private int index(int hash) {
        return (int) (Integer.toUnsignedLong(hash * 11) % mod);
    }

    /** g_hash_table_add of a key not in the table. */
    public void add(String key) {
        int h = strHash(key);
        int i = index(h);
        int step = 0;
        int tombstone = -1;
        while (hashes[i] != UNUSED) {
            if (hashes[i] == TOMBSTONE && tombstone < 0) {
                tombstone = i;
            }
            step++;
            i = (i + step) & mask;
        }
        if (tombstone >= 0) {
            i = tombstone;
        }
        int old = hashes[i];
        hashes[i] = h;
        keys[i] = key;
        nnodes++;
        if (old == UNUSED) {
            noccupied++;
            if ((size > nnodes * 4 && size > 1 << MIN_SHIFT) || size <= noccupied + noccupied / 16) {
                resize();
            }
        }
    }

    /** g_hash_table_remove of a key in the table (it leaves a tombstone; tables this small never shrink). */
    public void remove(String key) {
        for (int i = 0; i < size; i++) {
            if (key.equals(keys[i])) {
                hashes[i] = TOMBSTONE;
                keys[i] = null;
                nnodes--;
                return;
            }
        }
    }

    /** Keys in iteration order (by bucket). */
    public List<String> keys() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            if (Integer.compareUnsigned(hashes[i], TOMBSTONE) > 0) {
                out.add(keys[i]);
            }
        }
        return out;
    }

    /** GLib's in-place resize: entries move in bucket order, evicting the ones in their way. */
    private void resize() {
        int oldSize = size;
        int n = (int) (nnodes * 1.333);
        int shift = 0;
        while (n != 0) {
            n >>= 1;
            shift++;
        }
        setShift(Math.max(shift, MIN_SHIFT));
        if (size > oldSize) {
            hashes = java.util.Arrays.copyOf(hashes, size);
            keys = java.util.Arrays.copyOf(keys, size);
        }
        boolean[] moved = new boolean[Math.max(size, oldSize)];
        for (int i = 0; i < oldSize; i++) {
            int nodeHash = hashes[i];
            if (Integer.compareUnsigned(nodeHash, TOMBSTONE) <= 0) {
                hashes[i] = UNUSED;
                continue;
            }
            if (moved[i]) {
                continue;
            }
            hashes[i] = UNUSED;
            String key = keys[i];
            keys[i] = null;
            while (true) {
                int at = index(nodeHash);
                int step = 0;
                while (moved[at]) {
                    step++;
                    at = (at + step) & mask;
                }
                moved[at] = true;
                int replaced = hashes[at];
                hashes[at] = nodeHash;
                if (Integer.compareUnsigned(replaced, TOMBSTONE) <= 0) {
                    keys[at] = key;
                    break;
                }
                nodeHash = replaced;
                String evicted = keys[at];
                keys[at] = key;
                key = evicted;
            }
        }
        noccupied = nnodes;
    }
}
