package dev.q2.check;

/**
 * Receives what a check reports while it runs: its messages (in qemu-img's words), the phases it starts, the progress
 * of its longest phase, and the repairs of a repairing pass before the image is checked again. Every method has an
 * empty default; a listener is called on the checking thread only, in the order the events happen.
 */
public interface CheckListener {
    /** A listener that ignores everything. */
    CheckListener NONE = new CheckListener() {
    };

    /** A finding, a repair, or a failure of the check, in the order qemu-img prints them. */
    default void message(CheckMessage message) {
    }

    /** A phase of a check pass starts ({@code recheck} is true for the read-only pass that follows a repair). */
    default void phase(CheckPhase phase, boolean recheck) {
    }

    /** Progress of {@link CheckPhase#REFERENCES}: {@code done} of {@code total} active L1 entries walked. */
    default void progress(CheckPhase phase, long done, long total) {
    }

    /**
     * A repairing pass repaired something ({@code repairs} holds its counts); the image is checked again, read-only,
     * next. qemu-img prints "The following inconsistencies were found and repaired" here.
     */
    default void repaired(CheckResult repairs) {
    }
}
