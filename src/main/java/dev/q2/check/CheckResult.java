package dev.q2.check;

/**
 * The counts of a check, as QEMU's BdrvCheckResult: problems found (corruptions, leaks, internal check errors),
 * problems repaired, and the allocation figures of the active image (BlockFragInfo). Immutable and thread-safe.
 *
 * @param corruptions        errors found and left in the image (data may be corrupted)
 * @param leaks              clusters with a refcount but no reference, left in the image
 * @param checkErrors        internal errors that kept the check from completing its work
 * @param corruptionsFixed   errors the check repaired
 * @param leaksFixed         leaked clusters the check freed
 * @param imageEndOffset     the end of the last cluster in use (bytes), or 0
 * @param totalClusters      clusters of the virtual disk
 * @param allocatedClusters  clusters of the virtual disk the active L2 tables allocate
 * @param fragmentedClusters allocated clusters not contiguous with the one before them
 * @param compressedClusters allocated clusters that are compressed
 */
public record CheckResult(long corruptions, long leaks, long checkErrors, long corruptionsFixed, long leaksFixed,
                          long imageEndOffset, long totalClusters, long allocatedClusters, long fragmentedClusters,
                          long compressedClusters) {

    /** True when the check found nothing left broken: no corruptions, no leaks, no check errors. */
    public boolean isClean() {
        return corruptions == 0 && leaks == 0 && checkErrors == 0;
    }

    /** True when this pass repaired something (which makes {@link ImageChecker} check the image again). */
    public boolean repairedAnything() {
        return corruptionsFixed != 0 || leaksFixed != 0;
    }

    /** These counts with the repair counts of {@code repairs} (the pass that repaired, before this re-check). */
    CheckResult withRepairsOf(CheckResult repairs) {
        return new CheckResult(corruptions, leaks, checkErrors, repairs.corruptionsFixed, repairs.leaksFixed,
                imageEndOffset, totalClusters, allocatedClusters, fragmentedClusters, compressedClusters);
    }
}
