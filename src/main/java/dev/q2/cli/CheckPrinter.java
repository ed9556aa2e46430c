package dev.q2.cli;

import dev.q2.check.CheckListener;
import dev.q2.check.CheckMessage;
import dev.q2.check.CheckPhase;
import dev.q2.check.CheckResult;
import dev.q2.util.QDict;
import dev.q2.util.QJson;

import java.io.PrintWriter;
import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * qemu-img check's text, made from what the check library reports: its messages on stderr as they happen (headed
 * by the program's name where qemu-img uses error_report), the repair banner on stdout before the re-check, and the
 * result as the ImageCheck JSON object or the human summary. Public for the fuzz tests, which render reports.
 */
public final class CheckPrinter implements CheckListener {
    /** -Dq2.check.timing=true prints how long each phase took, on stderr (for benchmarking). */
    private static final boolean TIMING = Boolean.getBoolean("q2.check.timing");

    private final PrintWriter out;
    private final PrintWriter err;
    private final boolean banner;
    private CheckPhase phase;
    private long phaseStart;

    /** A printer of one check's messages on {@code err}, and of its repair banner on {@code out} when asked. */
    public CheckPrinter(PrintWriter out, PrintWriter err, boolean banner) {
        this.out = out;
        this.err = err;
        this.banner = banner;
    }

    @Override
    public void message(CheckMessage m) {
        err.println(m.errorReport() ? "q2: " + m.text() : m.text());
    }

    @Override
    public void phase(CheckPhase next, boolean recheck) {
        if (TIMING) {
            long now = System.nanoTime();
            if (phase != null) {
                err.printf("%s %d ms%n", phase.name().toLowerCase(java.util.Locale.ROOT),
                        (now - phaseStart) / 1000000);
            }
            phase = next;
            phaseStart = now;
        }
    }

    /** Ends the timing of the last phase (with -Dq2.check.timing=true). */
    void finish() {
        phase(null, false);
    }

    @Override
    public void repaired(CheckResult repairs) {
        err.flush();
        if (banner) {
            out.print(repairedBanner(repairs));
            // qemu-img's stdout is buffered when it is not a terminal: the banner then comes out after what the
            // double check prints on stderr (iotest 271 with 2>&1); on a terminal it is line-buffered
            if (System.console() != null) {
                out.flush();
            }
        }
    }

    /** The ImageCheck object: optional members only when nonzero, inserted in QAPI schema order. */
    public static QDict toQDict(CheckResult r, String filename, String format) {
        QDict d = new QDict();
        d.put("filename", filename);
        d.put("format", format);
        d.put("check-errors", r.checkErrors());
        putNonZero(d, "image-end-offset", r.imageEndOffset());
        putNonZero(d, "corruptions", r.corruptions());
        putNonZero(d, "leaks", r.leaks());
        putNonZero(d, "corruptions-fixed", r.corruptionsFixed());
        putNonZero(d, "leaks-fixed", r.leaksFixed());
        putNonZero(d, "total-clusters", r.totalClusters());
        putNonZero(d, "allocated-clusters", r.allocatedClusters());
        putNonZero(d, "fragmented-clusters", r.fragmentedClusters());
        putNonZero(d, "compressed-clusters", r.compressedClusters());
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
        if (r.corruptions() == 0 && r.leaks() == 0 && r.checkErrors() == 0) {
            sb.append("No errors were found on the image.\n");
        } else {
            if (r.corruptions() != 0) {
                sb.append('\n').append(r.corruptions()).append(" errors were found on the image.\n")
                        .append("Data may be corrupted, or further writes to the image may corrupt it.\n");
            }
            if (r.leaks() != 0) {
                sb.append('\n').append(r.leaks()).append(" leaked clusters were found on the image.\n")
                        .append("This means waste of disk space, but no harm to data.\n");
            }
            if (r.checkErrors() != 0) {
                sb.append('\n').append(r.checkErrors()).append(" internal errors have occurred during the check.\n");
            }
        }
        if (r.totalClusters() != 0 && r.allocatedClusters() != 0) {
            sb.append(r.allocatedClusters()).append('/').append(r.totalClusters()).append(" = ")
                    .append(percent(r.allocatedClusters() * 100.0 / r.totalClusters())).append("% allocated, ")
                    .append(percent(r.fragmentedClusters() * 100.0 / r.allocatedClusters())).append("% fragmented, ")
                    .append(percent(r.compressedClusters() * 100.0 / r.allocatedClusters()))
                    .append("% compressed clusters\n");
        }
        if (r.imageEndOffset() != 0) {
            sb.append("Image end offset: ").append(r.imageEndOffset()).append('\n');
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
                + "    " + first.leaksFixed() + " leaked clusters\n"
                + "    " + first.corruptionsFixed() + " corruptions\n\n"
                + "Double checking the fixed image now...\n";
    }
}
