package dev.q2.check;

/**
 * State that outlives one check pass: what QEMU keeps in its BlockDriverState between a repairing check and the
 * re-check that follows (whether corruption was signalled, whether the driver gave up on the image).
 */
final class CheckSession {
    boolean signaledCorruption;
    boolean driverGone;
    /** Passes started so far in this session (the second one is the re-check after a repair). */
    int passes;
}
