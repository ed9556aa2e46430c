package dev.q2.inspect;

import dev.q2.image.ImageException;
import dev.q2.info.DiskUsage;
import dev.q2.io.ImageFile;
import dev.q2.probe.FormatProber;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Decides whether an image is safe to hand to QEMU as a stand-alone disk, for platforms that accept images from
 * users: the gate behind {@code q2 inspect}. It reads the one file it is given and nothing else: no name the image
 * holds (backing file, data file, VMDK extent) is opened, stat'ed or resolved. Reads are bounded by the file's size
 * (a hostile size field is checked against the file before anything is allocated or read from it), and tables
 * referenced over and over are given up past {@value Qcow2Inspection#AMPLIFICATION} times the file's size.
 *
 * <p>Every problem is reported, not only the first: see {@link Rule} and docs/security.md.
 */
public final class Inspector {
    private Inspector() {
    }

    /** Inspects {@code path}, probing its format as qemu-img does. */
    public static InspectionReport inspect(Path path) throws IOException {
        return inspect(path, path.toString(), null);
    }

    /**
     * Inspects one image.
     *
     * @param path the file to read (a regular file: anything else is refused, so that a FIFO cannot block)
     * @param filename the name to report
     * @param declaredFormat the format the image will be given to QEMU as, or null to take the probed one
     * @throws IOException when the file cannot be read at all (missing, not a regular file, an I/O error)
     * @throws ImageException for a declared format no QEMU driver has
     */
    public static InspectionReport inspect(Path path, String filename, String declaredFormat) throws IOException {
        if (declaredFormat != null && !declaredFormat.equals("raw") && !declaredFormat.equals("qcow2")
                && !FormatProber.FOREIGN.contains(declaredFormat)) {
            throw new ImageException("Unknown driver '" + declaredFormat + "'");
        }
        BasicFileAttributes attrs = Files.readAttributes(path, BasicFileAttributes.class);
        if (!attrs.isRegularFile()) {
            throw new ImageException("'" + filename + "' is not a regular file");
        }
        try (ImageFile f = ImageFile.openReadOnly(path)) {
            String probed = FormatProber.probe(f);
            String format = declaredFormat != null ? declaredFormat : probed;
            Findings out = new Findings("");
            boolean fixedVhd = format.equals("vpc") && probed.equals("raw") && FormatProber.hasVpcFooterAtEnd(f);
            if (!format.equals(probed) && !fixedVhd) {
                out.add(Rule.FORMAT_MISMATCH, "declared " + format + ", but QEMU probes this file as " + probed
                        + (probed.equals("raw") ? "" : ": whatever probes it sees a " + probed + " image"));
            }
            Long virtualSize = inspectAs(f, format, out);
            List<Finding> findings = new ArrayList<>(out.toList());
            if (!format.equals(probed) && !probed.equals("raw")) {
                // what a tool that probes the file would see: its references are references all the same
                Findings as = new Findings("as " + probed + ": ");
                inspectAs(f, probed, as);
                findings.addAll(as.toList());
            }
            Findings sigs = new Findings("");
            for (Map.Entry<String, Integer> s : FormatProber.signatures(f).entrySet()) {
                if (!s.getKey().equals(format) && !s.getKey().equals(probed)) {
                    sigs.add(Rule.FOREIGN_SIGNATURE, "the file also carries a " + s.getKey() + " signature where"
                            + " QEMU's probe looks (probe score " + s.getValue() + ")");
                }
            }
            if (!format.equals("vpc") && FormatProber.hasVpcFooterAtEnd(f)) {
                sigs.add(Rule.FOREIGN_SIGNATURE, "the file ends in a VHD footer: declared as vpc, QEMU reads it as a"
                        + " fixed VHD");
            }
            findings.addAll(sigs.toList());
            return new InspectionReport(filename, format, probed, virtualSize, DiskUsage.allocatedBytes(path),
                    findings);
        }
    }

    private static Long inspectAs(ImageFile f, String format, Findings out) throws IOException {
        return switch (format) {
            case "raw" -> (f.size() + 511) & ~511L;
            case "qcow2" -> Qcow2Inspection.inspect(f, out);
            default -> ForeignInspection.inspect(f, format, out);
        };
    }
}
