package dev.q2.util;

/**
 * A value in QEMU's option syntax ({@code key=value,key=value}), read as QEMU's get_opt_value reads it: up to the
 * next single comma, a doubled comma standing for one comma in the value.
 */
public final class QemuOptValue {
    private QemuOptValue() {
    }

    /**
     * Appends the value that starts at {@code at} in {@code s} to {@code out}.
     *
     * @param s the option text
     * @param at where the value starts (after its '=')
     * @param out where the value goes, ",," read as ','
     * @return the index of the single comma that ends the value, or {@code s.length()}
     */
    public static int read(String s, int at, StringBuilder out) {
        int i = at;
        int n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            if (c == ',') {
                if (i + 1 < n && s.charAt(i + 1) == ',') {
                    out.append(',');
                    i += 2;
                    continue;
                }
                break;
            }
            out.append(c);
            i++;
        }
        return i;
    }
}
