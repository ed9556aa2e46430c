package dev.q2.check;

/**
 * One message of a check, in the words qemu-img 7.2 prints on stderr for the same finding (one or more lines,
 * without a trailing newline). Immutable and thread-safe.
 *
 * @param severity    what the message is about
 * @param errorReport true when qemu-img prints it through error_report, i.e. headed by the program's name
 *                    ({@code qemu-img: }); the command line adds that head, a library user may ignore it
 * @param text        the message itself
 */
public record CheckMessage(Severity severity, boolean errorReport, String text) {
    /** What a message reports. */
    public enum Severity {
        /** Progress of the check itself, such as rebuilding the refcount structure. */
        INFO,
        /** A leaked cluster (a refcount without a reference), not repaired. */
        LEAK,
        /** A corruption, not repaired. */
        CORRUPTION,
        /** A problem that the check repaired (or is repairing) now. */
        REPAIR,
        /** A failure of the check itself: I/O errors, metadata the check cannot read, a repair that failed. */
        CHECK_ERROR
    }
}
