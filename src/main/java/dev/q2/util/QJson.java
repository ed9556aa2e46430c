package dev.q2.util;

import java.util.List;

/**
 * Prints {@link QDict} trees as qemu-img prints QObjects: pretty JSON (qobject_to_json_pretty: four-space indent,
 * empty containers still broken over two lines) and the human "key: value" dump of format-specific information.
 * Values are String, Number, Boolean, QDict or List.
 */
public final class QJson {
    private QJson() {
    }

    public static String pretty(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, 0);
        return sb.toString();
    }

    /**
     * Compact JSON as qobject_to_json prints it (and QEMU's {@code json:} file names show options): {@code ": "}
     * after a key, {@code ", "} between members, no line breaks.
     *
     * @param value a String, Number, Boolean, QDict or List
     * @return the text
     */
    public static String compact(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, COMPACT);
        return sb.toString();
    }

    private static void newline(StringBuilder sb, int indent) {
        sb.append('\n');
        sb.append(" ".repeat(indent * 4));
    }

    /** The indent that asks {@link #write} for compact JSON. */
    private static final int COMPACT = -1;

    /** Writes {@code v} pretty at {@code indent}, or compact with {@link #COMPACT}. */
    private static void write(StringBuilder sb, Object v, int indent) {
        boolean pretty = indent != COMPACT;
        int inner = pretty ? indent + 1 : COMPACT;
        String separator = pretty ? "," : ", ";
        if (v instanceof QDict d) {
            sb.append('{');
            String sep = "";
            for (String k : d.keys()) {
                sb.append(sep);
                if (pretty) {
                    newline(sb, inner);
                }
                string(sb, k);
                sb.append(": ");
                write(sb, d.get(k), inner);
                sep = separator;
            }
            if (pretty) {
                newline(sb, indent);
            }
            sb.append('}');
        } else if (v instanceof List<?> l) {
            sb.append('[');
            String sep = "";
            for (Object o : l) {
                sb.append(sep);
                if (pretty) {
                    newline(sb, inner);
                }
                write(sb, o, inner);
                sep = separator;
            }
            if (pretty) {
                newline(sb, indent);
            }
            sb.append(']');
        } else if (v instanceof String s) {
            string(sb, s);
        } else if (v instanceof Double d) {
            sb.append(formatDouble(d));
        } else {
            sb.append(v);
        }
    }

    /** QEMU prints doubles with %.17g and trims to the shortest form that reads back; we print plainly. */
    private static String formatDouble(double d) {
        if (d == Math.rint(d) && Math.abs(d) < 1e15) {
            return Long.toString((long) d);
        }
        return Double.toString(d);
    }

    /** JSON string with QEMU's escapes: control characters and non-ASCII as \\uXXXX. */
    static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20 || c >= 0x7f) {
                        sb.append(String.format("\\u%04X", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    /** The human dump of block/qapi.c: "key: value" lines, dashes in keys shown as spaces, lists as [i]. */
    public static void dumpHuman(StringBuilder sb, Object v, int indent) {
        if (v instanceof QDict d) {
            for (String k : d.keys()) {
                Object val = d.get(k);
                boolean composite = val instanceof QDict || val instanceof List;
                sb.append(" ".repeat(indent * 4)).append(k.replace('-', ' ')).append(':');
                sb.append(composite ? "\n" : " ");
                dumpHuman(sb, val, indent + 1);
            }
        } else if (v instanceof List<?> l) {
            int i = 0;
            for (Object o : l) {
                boolean composite = o instanceof QDict || o instanceof List;
                sb.append(" ".repeat(indent * 4)).append('[').append(i++).append("]:")
                        .append(composite ? '\n' : ' ');
                dumpHuman(sb, o, indent + 1);
            }
        } else {
            sb.append(v).append('\n');
        }
    }
}
