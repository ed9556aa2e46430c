package dev.q2.inspect;

/** How QEMU would take a name an image holds: what kind of reference it is (never resolved here). */
final class References {
    private References() {
    }

    /** "json: options", "protocol nbd", "absolute path", "relative path" (QEMU's path_has_protocol rule). */
    static String kind(String name) {
        if (name.startsWith("json:")) {
            return "json: options";
        }
        int colon = name.indexOf(':');
        int slash = name.indexOf('/');
        if (colon > 0 && (slash < 0 || colon < slash)) {
            return "protocol " + name.substring(0, colon);
        }
        return name.startsWith("/") ? "absolute path" : "relative path";
    }

    /** A name quoted for a one-line message: control characters escaped, at most 1024 characters. */
    static String quote(String name) {
        StringBuilder b = new StringBuilder("'");
        int n = Math.min(name.length(), 1024);
        for (int i = 0; i < n; i++) {
            char c = name.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '\\' || c == '\'') {
                b.append(String.format("\\x%02x", (int) c));
            } else {
                b.append(c);
            }
        }
        if (name.length() > n) {
            b.append("...");
        }
        return b.append('\'').toString();
    }
}
