package dev.q2.measure;

import dev.q2.cache.L2CacheSizing;

/**
 * What qemu-img measure reports for a planned image, plus the L2 cache that image will need.
 *
 * @param required bytes the new image file needs for the given contents (or for an empty disk)
 * @param fullyAllocated bytes the file would take with every cluster allocated
 * @param bitmaps bytes for the source's persistent bitmaps; null when qemu-img leaves the figure out (raw source
 *     or target, compat=0.10 target, no source)
 * @param l2Cache the L2 cache geometry of the planned qcow2 image (q2's addition); null for a raw target
 */
public record MeasureResult(long required, long fullyAllocated, Long bitmaps, L2CacheSizing l2Cache) {
}
