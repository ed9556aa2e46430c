package dev.q2.check;

/**
 * The counts one check pass accumulates while it runs (QEMU's BdrvCheckResult, mutable): problems found, problems
 * repaired, and the allocation figures of the active image (BlockFragInfo). Frozen into a {@link CheckResult}.
 */
final class CheckCounts {
    long corruptions;
    long leaks;
    long checkErrors;
    long corruptionsFixed;
    long leaksFixed;
    long imageEndOffset;
    long totalClusters;
    long allocatedClusters;
    long fragmentedClusters;
    long compressedClusters;

    CheckCounts copy() {
        CheckCounts c = new CheckCounts();
        c.corruptions = corruptions;
        c.leaks = leaks;
        c.checkErrors = checkErrors;
        c.corruptionsFixed = corruptionsFixed;
        c.leaksFixed = leaksFixed;
        c.imageEndOffset = imageEndOffset;
        c.totalClusters = totalClusters;
        c.allocatedClusters = allocatedClusters;
        c.fragmentedClusters = fragmentedClusters;
        c.compressedClusters = compressedClusters;
        return c;
    }

    /** Adds what another part of the same pass counted in problems and repairs (not the allocation figures). */
    void addProblems(CheckCounts o) {
        corruptions += o.corruptions;
        leaks += o.leaks;
        checkErrors += o.checkErrors;
        corruptionsFixed += o.corruptionsFixed;
        leaksFixed += o.leaksFixed;
    }

    CheckResult freeze() {
        return new CheckResult(corruptions, leaks, checkErrors, corruptionsFixed, leaksFixed, imageEndOffset,
                totalClusters, allocatedClusters, fragmentedClusters, compressedClusters);
    }
}
