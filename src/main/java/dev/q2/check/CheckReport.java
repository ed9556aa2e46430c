package dev.q2.check;

import dev.q2.util.QDict;
import dev.q2.util.QJson;

import java.math.BigDecimal;
import java.math.RoundingMode;

/** qemu-img check's output for a check result: the ImageCheck JSON object, or the human summary. */
public final class CheckReport {
    private CheckReport() {
    }

    /** The ImageCheck object: optional members only when nonzero, inserted in QAPI schema order. */
    public static QDict toQDict(CheckResult r, String filename, String format) {
        QDict d = new QDict();
        d.put("filename", filename);
        d.put("format", format);
        d.put("check-errors", r.checkErrors);
        putNonZero(d, "image-end-offset", r.imageEndOffset);
        putNonZero(d, "corruptions", r.corruptions);
        putNonZero(d, "leaks", r.leaks);
        putNonZero(d, "corruptions-fixed", r.corruptionsFixed);
        putNonZero(d, "leaks-fixed", r.leaksFixed);
        putNonZero(d, "total-clusters", r.totalClusters);
        putNonZero(d, "allocated-clusters", r.allocatedClusters);
        putNonZero(d, "fragmented-clusters", r.fragmentedClusters);
        putNonZero(d, "compressed-clusters", r.compressedClusters);
        return d;
    }

    private static void putNonZero(QDict d, String key, long v) {
        if (v != 0) {
            d.put(key, v);
        }
    }

    public static String json(CheckResult r, String filename, String format) {
        return QJson.pretty(toQDict(r, filename, format)) + "\n";
    }

    /** The human summary (dump_human_image_check). */
    public static String human(CheckResult r) {
        StringBuilder sb = new StringBuilder();
        if (r.corruptions == 0 && r.leaks == 0 && r.checkErrors == 0) {
            sb.append("No errors were found on the image.\n");
        } else {
            if (r.corruptions != 0) {
                sb.append('\n').append(r.corruptions).append(" errors were found on the image.\n")
                        .append("Data may be corrupted, or further writes to the image may corrupt it.\n");
            }
            if (r.leaks != 0) {
                sb.append('\n').append(r.leaks).append(" leaked clusters were found on the image.\n")
                        .append("This means waste of disk space, but no harm to data.\n");
            }
            if (r.checkErrors != 0) {
                sb.append('\n').append(r.checkErrors).append(" internal errors have occurred during the check.\n");
            }
        }
        if (r.totalClusters != 0 && r.allocatedClusters != 0) {
            sb.append(r.allocatedClusters).append('/').append(r.totalClusters).append(" = ")
                    .append(percent(r.allocatedClusters * 100.0 / r.totalClusters)).append("% allocated, ")
                    .append(percent(r.fragmentedClusters * 100.0 / r.allocatedClusters)).append("% fragmented, ")
                    .append(percent(r.compressedClusters * 100.0 / r.allocatedClusters))
                    .append("% compressed clusters\n");
        }
        if (r.imageEndOffset != 0) {
            sb.append("Image end offset: ").append(r.imageEndOffset).append('\n');
        }
        return sb.toString();
    }

    /**
     * printf's {@code %0.2f}: glibc rounds the exact binary value half to even (2/64 = 3.125 prints as 3.12), which
     * Java's Formatter does not.
     */
    static String percent(double v) {
        return new BigDecimal(v).setScale(2, RoundingMode.HALF_EVEN).toPlainString();
    }

    /** What qemu-img prints before re-checking a repaired image. */
    public static String repairedBanner(CheckResult first) {
        return "The following inconsistencies were found and repaired:\n\n"
                + "    " + first.leaksFixed + " leaked clusters\n"
                + "    " + first.corruptionsFixed + " corruptions\n\n"
                + "Double checking the fixed image now...\n";
    }
}
