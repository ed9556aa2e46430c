package dev.q2.util;

/**
 * Diagnostics from the library, through slf4j, without paying for logging when nobody listens: slf4j (and so
 * logback's configuration) is only touched once a caller has enabled a level, which the CLI does for -v and
 * --debug. Library users who want the messages call {@link #enable}.
 */
public final class Diagnostics {
    private static volatile int level; // 0 off, 1 info, 2 debug

    private Diagnostics() {
    }

    /** Turns messages on: info with {@code verbose}, info and debug with {@code debug}. */
    public static void enable(boolean verbose, boolean debug) {
        level = debug ? 2 : verbose ? 1 : 0;
    }

    public static boolean debugEnabled() {
        return level >= 2;
    }

    public static void info(Class<?> where, String format, Object... args) {
        if (level >= 1) {
            org.slf4j.LoggerFactory.getLogger(where).info(format, args);
        }
    }

    public static void debug(Class<?> where, String format, Object... args) {
        if (level >= 2) {
            org.slf4j.LoggerFactory.getLogger(where).debug(format, args);
        }
    }
}
