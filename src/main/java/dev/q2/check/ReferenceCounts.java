package dev.q2.check;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The references counted to every host cluster while checking (QEMU's "in-memory refcount table"), kept compact:
 * two bytes per host cluster in pages of {@value #PAGE_SIZE} clusters that are allocated only when a cluster of the
 * page is first referenced, so a sparse or hostile file costs memory only for what its metadata references. Counts
 * saturate at the image's refcount_max (as QEMU's array of refcount_bits-wide entries does); for 32- and 64-bit
 * refcounts, counts at or above 65535 continue in an overflow map.
 *
 * <p>{@link #size()} is QEMU's {@code nb_clusters}: the number of clusters the check compares, grown when a
 * reference (or an allocation while rebuilding) lies past it.
 */
final class ReferenceCounts {
    /** 4096 clusters (8 KiB) a page: about the 4 KiB memory page QEMU's calloc'ed array touches per thinly spread reference. */
    static final int PAGE_BITS = 12;
    static final int PAGE_SIZE = 1 << PAGE_BITS;
    private static final int OVERFLOW = 0xffff;

    private final long max;
    private final int fastLimit;
    private char[][] pages;
    private final Map<Long, Long> overflow = new HashMap<>();
    private long size;

    ReferenceCounts(long size, long refcountMax) {
        this.max = refcountMax;
        this.fastLimit = (int) Math.min(Long.compareUnsigned(refcountMax, 0xfffe) < 0 ? refcountMax : 0xfffe, 0xfffe);
        this.size = size;
        this.pages = new char[pageCount(size)][];
    }

    private static int pageCount(long clusters) {
        if (!countable(clusters)) {
            throw new IllegalArgumentException("too many clusters: " + clusters);
        }
        return (int) ((clusters + PAGE_SIZE - 1) >>> PAGE_BITS);
    }

    /** Whether counts for {@code clusters} clusters fit (2^43: the pages' index is an int). */
    static boolean countable(long clusters) {
        return clusters >= 0 && (clusters + PAGE_SIZE - 1) >>> PAGE_BITS <= Integer.MAX_VALUE;
    }

    long size() {
        return size;
    }

    /** Grows the compared range to {@code newSize} clusters (never shrinks). */
    void grow(long newSize) {
        if (newSize <= size) {
            return;
        }
        int n = pageCount(newSize);
        if (n > pages.length) {
            pages = Arrays.copyOf(pages, (int) Math.max(n, Math.min(Integer.MAX_VALUE - 8L, pages.length * 2L)));
        }
        size = newSize;
    }

    long get(long cluster) {
        int p = (int) (cluster >>> PAGE_BITS);
        if (p >= pages.length) {
            return 0;
        }
        char[] page = pages[p];
        if (page == null) {
            return 0;
        }
        char c = page[(int) (cluster & (PAGE_SIZE - 1))];
        if (c == OVERFLOW && max > OVERFLOW) {
            return overflow.getOrDefault(cluster, (long) OVERFLOW);
        }
        return c;
    }

    /** The page of counters holding {@code cluster} (index with cluster & (PAGE_SIZE - 1)), or null if unused. */
    char[] page(long cluster) {
        int p = (int) (cluster >>> PAGE_BITS);
        return p >= pages.length ? null : pages[p];
    }

    /** True when no cluster of the page holding {@code cluster} was ever referenced. */
    boolean pageEmpty(long cluster) {
        int p = (int) (cluster >>> PAGE_BITS);
        return p >= pages.length || pages[p] == null;
    }

    void set(long cluster, long value) {
        int p = (int) (cluster >>> PAGE_BITS);
        char[] page = pages[p];
        if (page == null) {
            if (value == 0) {
                return;
            }
            page = new char[PAGE_SIZE];
            pages[p] = page;
        }
        int i = (int) (cluster & (PAGE_SIZE - 1));
        if (Long.compareUnsigned(value, OVERFLOW) >= 0 && max > OVERFLOW) {
            page[i] = OVERFLOW;
            overflow.put(cluster, value);
        } else {
            if (page[i] == OVERFLOW) {
                overflow.remove(cluster);
            }
            page[i] = (char) value;
        }
    }

    /** Adds one reference when that is simple (page in use, count well below the limits); false otherwise. */
    boolean incrementFast(long cluster) {
        char[] page = pages[(int) (cluster >>> PAGE_BITS)];
        if (page == null) {
            return false;
        }
        int i = (int) (cluster & (PAGE_SIZE - 1));
        char c = page[i];
        if (c >= fastLimit) {
            return false;
        }
        page[i] = (char) (c + 1);
        return true;
    }

    /** Adds one reference; false (and no change) when the count is already at refcount_max. */
    boolean increment(long cluster) {
        long v = get(cluster);
        if (v == max) {
            return false;
        }
        set(cluster, v + 1);
        return true;
    }

    /** Forgets every reference (keeps the size). */
    void clear() {
        Arrays.fill(pages, null);
        overflow.clear();
    }

    /** Bytes held by the counters: two per cluster of every page in use, plus the overflow map. */
    long bytesUsed() {
        long n = 0;
        for (char[] p : pages) {
            if (p != null) {
                n += 2L * PAGE_SIZE;
            }
        }
        return n + 48L * overflow.size() + 8L * pages.length;
    }
}
