package dev.q2;

import java.util.List;

/**
 * The result of {@link Qcow2#check}: the counts qemu-img check reports, after any repair, with the counts of what
 * was repaired and the messages the check gave (qemu-img prints them to stderr). Immutable and thread-safe.
 *
 * @param corruptions errors found (after repair: those left)
 * @param leaks leaked clusters found (after repair: those left)
 * @param checkErrors errors that stopped parts of the check (I/O errors, unreadable tables)
 * @param corruptionsFixed errors repaired
 * @param leaksFixed leaked clusters repaired
 * @param imageEndOffset the offset after the last cluster in use
 * @param totalClusters clusters the virtual disk covers
 * @param allocatedClusters guest clusters allocated
 * @param fragmentedClusters allocated clusters not contiguous with the one before
 * @param compressedClusters allocated clusters that are compressed
 * @param messages the lines the check reported, in order (as qemu-img words them)
 */
public record CheckSummary(long corruptions, long leaks, long checkErrors, long corruptionsFixed, long leaksFixed,
                           long imageEndOffset, long totalClusters, long allocatedClusters,
                           long fragmentedClusters, long compressedClusters, List<String> messages) {
    /**
     * Copies {@code messages}.
     *
     * @param corruptions errors found
     * @param leaks leaked clusters found
     * @param checkErrors errors that stopped the check
     * @param corruptionsFixed errors repaired
     * @param leaksFixed leaks repaired
     * @param imageEndOffset image end offset
     * @param totalClusters total clusters
     * @param allocatedClusters allocated clusters
     * @param fragmentedClusters fragmented clusters
     * @param compressedClusters compressed clusters
     * @param messages the check's messages
     */
    public CheckSummary {
        messages = List.copyOf(messages);
    }

    /**
     * Whether the image is clean: no errors, no leaks, no check errors.
     *
     * @return true when clean
     */
    public boolean clean() {
        return corruptions == 0 && leaks == 0 && checkErrors == 0;
    }

    /**
     * qemu-img check's exit code for this result: 0 clean, 2 errors, 3 leaks only, 1 check errors.
     *
     * @return the exit code
     */
    public int exitCode() {
        if (checkErrors != 0) {
            return 1;
        }
        if (corruptions != 0) {
            return 2;
        }
        return leaks != 0 ? 3 : 0;
    }
}
