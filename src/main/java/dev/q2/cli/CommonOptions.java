package dev.q2.cli;

import picocli.CommandLine.Option;

/** Options every subcommand accepts: how much to say on stderr. */
public final class CommonOptions {
    @Option(names = {"-v", "--verbose"}, description = "Log what q2 does on stderr")
    void verbose(boolean v) {
        Logging.setLevel(v, Logging.debugEnabled());
    }

    @Option(names = "--debug", description = "Log debugging details and show stack traces on errors")
    void debug(boolean d) {
        Logging.setLevel(Logging.verboseEnabled(), d);
    }
}
