package dev.q2.check;

/**
 * Counts of one check pass, as QEMU's BdrvCheckResult: problems found (corruptions, leaks, internal check errors),
 * problems repaired, and the allocation figures of the active image (BlockFragInfo).
 */
public final class CheckResult {
    public long corruptions;
    public long leaks;
    public long checkErrors;
    public long corruptionsFixed;
    public long leaksFixed;
    public long imageEndOffset;
    public long totalClusters;
    public long allocatedClusters;
    public long fragmentedClusters;
    public long compressedClusters;

    public CheckResult copy() {
        CheckResult c = new CheckResult();
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

    /** qemu-img check's exit code for a check that completed: 2 corruptions, 3 leaks only, 0 clean. */
    public int exitCode() {
        if (checkErrors != 0) {
            return 1;
        }
        return corruptions != 0 ? 2 : leaks != 0 ? 3 : 0;
    }
}
