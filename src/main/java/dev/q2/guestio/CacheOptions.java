package dev.q2.guestio;

import dev.q2.util.Sizes;

import java.util.Map;

/**
 * The qcow2 driver's cache options as qemu-io's {@code open -o} takes them ({@code cache-size},
 * {@code l2-cache-size}, {@code refcount-cache-size}, {@code l2-cache-entry-size}), resolved as QEMU's qcow2 driver
 * resolves them when it opens an image (read_cache_sizes): the same refusals, and the L2 cache q2's engine then
 * uses. q2 has no refcount cache, so the refcount cache size is only checked.
 *
 * @param l2CacheBytes the L2 cache capacity in bytes (at least two entries, as QEMU's minimum)
 * @param l2EntrySize bytes per cache entry
 */
public record CacheOptions(long l2CacheBytes, int l2EntrySize) {
    /** The options this class reads. */
    public static final java.util.Set<String> KEYS = java.util.Set.of("cache-size", "l2-cache-size",
            "refcount-cache-size", "l2-cache-entry-size");

    /** QEMU's DEFAULT_L2_CACHE_MAX_SIZE. */
    private static final long DEFAULT_L2_CACHE_MAX = 32L << 20;
    /** QEMU's MIN_REFCOUNT_CACHE_SIZE, in clusters. */
    private static final long MIN_REFCOUNT_CACHE = 4;
    /** QEMU's MIN_L2_CACHE_SIZE, in entries. */
    private static final long MIN_L2_CACHE_ENTRIES = 2;

    /** A refusal in QEMU's words. */
    public static final class Refused extends Exception {
        public Refused(String message) {
            super(message);
        }
    }

    /**
     * Resolves {@code options} (only keys of {@link #KEYS}) for an image with {@code clusterSize}, virtual size
     * {@code size} and L2 entries of {@code l2EntryBytes} bytes (8, or 16 with extended L2).
     */
    public static CacheOptions resolve(Map<String, String> options, long clusterSize, long size, int l2EntryBytes)
            throws Refused {
        boolean combinedSet = options.containsKey("cache-size");
        boolean l2Set = options.containsKey("l2-cache-size");
        boolean refcountSet = options.containsKey("refcount-cache-size");
        long combined = size(options, "cache-size", 0);
        long l2Max = size(options, "l2-cache-size", DEFAULT_L2_CACHE_MAX);
        long refcount = size(options, "refcount-cache-size", 0);
        long entry = size(options, "l2-cache-entry-size", clusterSize);
        long maxL2Entries = (size + clusterSize - 1) / clusterSize;
        long maxL2Cache = (maxL2Entries * l2EntryBytes + clusterSize - 1) / clusterSize * clusterSize;
        long l2 = Math.min(maxL2Cache, l2Max);
        long minRefcount = MIN_REFCOUNT_CACHE * clusterSize;
        if (combinedSet) {
            if (l2Set && refcountSet) {
                throw new Refused("cache-size, l2-cache-size and refcount-cache-size may not be set at the same time");
            } else if (l2Set && Long.compareUnsigned(l2Max, combined) > 0) {
                throw new Refused("l2-cache-size may not exceed cache-size");
            } else if (Long.compareUnsigned(refcount, combined) > 0) {
                throw new Refused("refcount-cache-size may not exceed cache-size");
            }
            if (l2Set) {
                refcount = combined - l2;
            } else if (refcountSet) {
                l2 = combined - refcount;
            } else if (combined >= maxL2Cache + minRefcount) {
                l2 = maxL2Cache;
            } else {
                refcount = Math.min(combined, minRefcount);
                l2 = combined - refcount;
            }
        }
        if (entry < 512 || entry > clusterSize || Long.bitCount(entry) != 1) {
            throw new Refused("L2 cache entry size must be a power of two between 512 and the cluster size ("
                    + clusterSize + ")");
        }
        long l2Bytes = Math.max(l2 / entry, MIN_L2_CACHE_ENTRIES) * entry;
        return new CacheOptions(l2Bytes, (int) entry);
    }

    private static long size(Map<String, String> options, String key, long dflt) throws Refused {
        String v = options.get(key);
        if (v == null) {
            return dflt;
        }
        try {
            return Sizes.parse(v).value();
        } catch (Sizes.SizeFormatException e) {
            // qemu_opt_get_size's refusal when the option is parsed
            throw new Refused("Parameter '" + key + "' expects a non-negative number below 2^64\n"
                    + "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
                    + "and exabytes, respectively.");
        }
    }
}
