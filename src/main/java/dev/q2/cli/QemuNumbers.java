package dev.q2.cli;

import dev.q2.util.Sizes;

import java.io.PrintWriter;

/** qemu-img's number options (cvtnum_full), for bitmap and dd. */
final class QemuNumbers {
    private QemuNumbers() {
    }

    /** cvtnum: a size from 0 to INT64_MAX; -1 after printing qemu-img's message (its two lines joined). */
    static long cvtnum(String name, String value, PrintWriter err) {
        return cvtnumFull(name, value, 0, Long.MAX_VALUE, err);
    }

    /** cvtnum_full: a size from {@code min} to {@code max}; -1 after printing qemu-img's message. */
    static long cvtnumFull(String name, String value, long min, long max, PrintWriter err) {
        long v;
        try {
            Sizes.Parsed p = Sizes.parse(value);
            if (p.hexWithSuffix()) {
                err.println("q2: warning: Using a multiplier suffix on hex numbers is deprecated: " + value);
            }
            v = p.value();
        } catch (Sizes.SizeFormatException e) {
            if (!e.outOfRange()) {
                err.println("q2: Invalid " + name + " specified. You may use k, M, G, T, P or E suffixes for"
                        + " kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
                return -1;
            }
            v = -1;
        }
        // an unsigned 64-bit result above INT64_MAX is negative here
        if (v < 0 || v > max || v < min) {
            err.println("q2: Invalid " + name + " specified. Must be between " + min + " and " + max + ".");
            return -1;
        }
        return v;
    }
}
