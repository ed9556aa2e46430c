package dev.q2.inspect;

import java.util.List;

/**
 * What {@link Inspector} found in one image: immutable. The image is safe to hand to QEMU as a stand-alone disk of
 * {@link #format()} exactly when there are no findings.
 *
 * @param filename the name the caller gave
 * @param format the format the image is inspected as: the declared one, or the probed one when none was declared
 * @param probedFormat the format qemu-img would probe for this file
 * @param virtualSize the guest-visible size in bytes, or null where it could not be read
 * @param actualSize the bytes the file occupies on disk
 * @param findings every problem found, in the order the rules ran
 */
public record InspectionReport(String filename, String format, String probedFormat, Long virtualSize,
                               long actualSize, List<Finding> findings) {
    public InspectionReport {
        findings = List.copyOf(findings);
    }

    /** True when nothing was found. */
    public boolean safe() {
        return findings.isEmpty();
    }

    /** The findings of one rule. */
    public List<Finding> findings(Rule rule) {
        return findings.stream().filter(f -> f.rule().equals(rule.id())).toList();
    }
}
