package dev.q2.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/** Options every subcommand accepts: help, and how much to say on stderr. */
final class CommonOptions {
    private final OptionSpec help = OptionSpec.builder("-h", "--help").usageHelp(true)
            .description("Show this help message and exit.").build();
    private final OptionSpec verbose = Options.flag("Log what q2 does on stderr", "-v", "--verbose");
    private final OptionSpec debug =
            Options.flag("Log debugging details and show stack traces on errors", "--debug");

    /** Adds the options to a subcommand's spec. */
    void addTo(CommandSpec spec) {
        spec.addOption(help);
        spec.addOption(verbose);
        spec.addOption(debug);
    }

    /** Sets the diagnostics level from what was given (and resets it when nothing was, for in-process runs). */
    void apply(ParseResult parsed) {
        Logging.setLevel(parsed.hasMatchedOption(verbose), parsed.hasMatchedOption(debug));
    }
}
