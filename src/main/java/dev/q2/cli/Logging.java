package dev.q2.cli;

/**
 * Diagnostics level for the CLI. Logback is only configured when -v or --debug asks for output, so that a quiet
 * run (the common case in scripts) does not pay for its initialisation.
 */
public final class Logging {
    private static volatile int level; // 0 quiet, 1 verbose, 2 debug

    private Logging() {
    }

    public static void setLevel(boolean verbose, boolean debug) {
        level = debug ? 2 : verbose ? 1 : 0;
        dev.q2.util.Diagnostics.enable(verbose, debug);
        if (level > 0) {
            try {
                ch.qos.logback.classic.Logger root = (ch.qos.logback.classic.Logger)
                        org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
                root.setLevel(level == 2 ? ch.qos.logback.classic.Level.DEBUG : ch.qos.logback.classic.Level.INFO);
            } catch (NoClassDefFoundError | ClassCastException e) {
                // logback's jars (beside q2.jar, named by its Class-Path) were not installed with it: no log output
            }
        }
    }

    public static boolean debugEnabled() {
        return level == 2;
    }

    public static boolean verboseEnabled() {
        return level >= 1;
    }
}
