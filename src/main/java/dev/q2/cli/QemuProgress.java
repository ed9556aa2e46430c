package dev.q2.cli;

import java.io.PrintWriter;

/**
 * qemu-img's progress reporting (qemu_progress_init/print/end) for commands that report in steps: a line
 * "    (42.00/100%)" redrawn with a carriage return when the total has moved by more than {@code minSkip} percent
 * since the last one, or reached 0 or 100; a newline at the end. Counted in float, as QEMU counts.
 */
final class QemuProgress {
    private final PrintWriter out;
    private final boolean enabled;
    private final float minSkip;
    private float current;
    private float lastPrint;

    QemuProgress(PrintWriter out, boolean enabled, float minSkip) {
        this.out = out;
        this.enabled = enabled;
        this.minSkip = minSkip;
    }

    /** {@code max} 0: {@code delta} is the total done; else {@code delta} percent of {@code max} more is done. */
    void print(float delta, int max) {
        float c = max == 0 ? delta : current + delta / 100 * max;
        if (c > 100) {
            c = 100;
        }
        current = c;
        if (c > lastPrint + minSkip || c == 100 || c == 0) {
            lastPrint = current;
            if (enabled) {
                out.print("    (" + printf2(current) + "/100%)\r");
                out.flush();
            }
        }
    }

    /**
     * printf's "%3.2f" of a float: the exact binary value rounded to two decimals, a tie to even as glibc rounds it
     * (65.625 prints as 65.62), where Java's formatter rounds half up.
     */
    static String printf2(float v) {
        return new java.math.BigDecimal((double) v).setScale(2, java.math.RoundingMode.HALF_EVEN).toPlainString();
    }

    void end() {
        if (enabled) {
            out.print("\n");
            out.flush();
        }
    }
}
