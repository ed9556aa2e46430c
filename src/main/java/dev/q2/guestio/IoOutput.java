package dev.q2.guestio;

import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.util.Locale;

/** qemu-io's output formats: its byte counts, its request reports (human and -C) and its hex dump (read -v). */
final class IoOutput {
    private IoOutput() {
    }

    /**
     * A byte count in qemu-io's words (its cvtstr): the largest binary unit it reaches, three decimals, ".000"
     * dropped: "1000 bytes", "1 KiB", "1.500 KiB", "1.001 MiB". Not qemu-img's "%0.3g" wording.
     */
    static String size(double value) {
        String[] units = {" EiB", " PiB", " TiB", " GiB", " MiB", " KiB"};
        String suffix = " bytes";
        String text = null;
        for (int i = 0; i < units.length; i++) {
            double unit = Math.scalb(1.0, 60 - 10 * i);
            if (value >= unit) {
                // qemu divides in integers first for the whole units (TO_KILOBYTES(x) is x / KILOBYTES(1) on a
                // double, so no truncation happens): a plain division
                text = fixed(value / unit, 3);
                suffix = units[i];
                break;
            }
        }
        if (text == null) {
            text = fixed(value, 6);
        }
        int trim = text.indexOf(".000");
        return (trim >= 0 ? text.substring(0, trim) : text) + suffix;
    }

    /**
     * C's "%.Nf": the exact binary value rounded half to even (glibc), where Java's formatter rounds half up
     * (1.5625 is "1.562" in C, "1.563" in Java).
     */
    static String fixed(double v, int decimals) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return String.format(Locale.ROOT, "%." + decimals + "f", v);
        }
        return new java.math.BigDecimal(v).setScale(decimals, java.math.RoundingMode.HALF_EVEN).toPlainString();
    }

    /** qemu-io's timestr: "0:00:00.00" with -C (VERBOSE_FIXED_TIME), "00.00 sec" style otherwise. */
    private static String time(double secs, boolean verbose) {
        long whole = (long) secs;
        int centis = (int) ((secs - whole) * 100);
        if (verbose || whole > 0) {
            return String.format(Locale.ROOT, "%d:%02d:%02d.%02d", whole / 3600, (whole % 3600) / 60, whole % 60,
                    centis);
        }
        return String.format(Locale.ROOT, "%02d.%02d sec", whole % 60, centis);
    }

    /**
     * qemu-io's print_report for one request of {@code total} bytes at {@code offset}: "VERB N/N bytes at offset O"
     * and a statistics line, or with {@code machine} (-C) one line "bytes,ops,time,bytes/sec,ops/sec".
     */
    static void report(PrintWriter out, String verb, long offset, long total, boolean machine, long t0) {
        double secs = Math.max(1e-6, (System.nanoTime() - t0) / 1e9);
        if (machine) {
            out.printf(Locale.ROOT, "%d,%d,%s,%s,%s%n", total, 1, time(secs, true), fixed(total / secs, 3),
                    fixed(1 / secs, 3));
            return;
        }
        out.printf("%s %d/%d bytes at offset %d%n", verb, total, total, offset);
        out.printf(Locale.ROOT, "%s, 1 ops; %s (%s/sec and %.4f ops/sec)%n", size(total), time(secs, false),
                size(total / secs), 1 / secs);
    }

    /**
     * qemu-io's dump_buffer (read -v): 16 bytes a line, "%08x:  " with the guest offset, each byte "%02x ", a space,
     * then the bytes that are ASCII letters or digits as themselves and the others as '.'; the last line is not
     * padded.
     */
    static void dump(PrintWriter out, ByteBuffer buf, long offset, int len) {
        StringBuilder sb = new StringBuilder(80);
        for (int i = 0; i < len; i += 16) {
            sb.setLength(0);
            sb.append(String.format("%08x:  ", offset + i));
            int n = Math.min(16, len - i);
            for (int j = 0; j < n; j++) {
                sb.append(Character.forDigit((buf.get(i + j) >> 4) & 0xf, 16))
                        .append(Character.forDigit(buf.get(i + j) & 0xf, 16)).append(' ');
            }
            sb.append(' ');
            for (int j = 0; j < n; j++) {
                int c = buf.get(i + j) & 0xff;
                boolean alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
                sb.append(alnum ? (char) c : '.');
            }
            out.println(sb);
        }
    }
}
