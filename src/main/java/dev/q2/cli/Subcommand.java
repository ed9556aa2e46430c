package dev.q2.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParseResult;

import java.util.concurrent.Callable;

/**
 * What every q2 subcommand has: its picocli spec (built programmatically, no reflection at start-up), q2's common
 * options (--debug, logging), and the {@link Main} that resolves its file names.
 */
abstract class Subcommand implements Callable<Integer> {
    final Main main;
    final CommandSpec spec = CommandSpec.wrapWithoutInspection(this);
    final CommonOptions common = new CommonOptions();

    Subcommand(Main main, String name) {
        this.main = main;
        spec.name(name);
    }

    final CommandSpec spec() {
        return spec;
    }

    /** The parse result of this run, with the common options applied (call once, first thing in call()). */
    final ParseResult parsed() {
        ParseResult parsed = spec.commandLine().getParseResult();
        common.apply(parsed);
        return parsed;
    }
}
