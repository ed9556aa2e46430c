package dev.q2.check;

/**
 * What {@link ImageChecker#check} found: the image's format and the counts of the final (read-only) pass. When the
 * first pass repaired something, the image was checked again: {@code result} then holds the re-check's findings with
 * the first pass's repair counts, and {@code repairs} the first pass's own counts. Immutable and thread-safe.
 *
 * @param format  the image format checked ({@code "qcow2"})
 * @param result  the counts qemu-img prints
 * @param repairs the counts of the repairing pass when it repaired anything, else null
 */
public record CheckReport(String format, CheckResult result, CheckResult repairs) {
    /** Whether the check repaired anything (and so ran twice). */
    public boolean repaired() {
        return repairs != null;
    }
}
