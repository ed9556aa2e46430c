package dev.q2.cli;

import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

import java.util.List;

/**
 * Builders for the options of q2's commands, declared with picocli's programmatic API rather than annotations: the
 * annotation model costs reflection, generic-signature parsing and one dynamic proxy class per annotation type at
 * every start, about half of q2's start-up (docs/performance.md). Values are read back with {@code getValue()}.
 */
final class Options {
    private Options() {
    }

    /** An option without a parameter; test it with {@code ParseResult.hasMatchedOption}. */
    static OptionSpec flag(String description, String... names) {
        return OptionSpec.builder(names).type(boolean.class).arity("0").description(description).build();
    }

    /** An option with one String parameter; null when absent. */
    static OptionSpec value(String paramLabel, String description, String... names) {
        return OptionSpec.builder(names).type(String.class).paramLabel(paramLabel).description(description).build();
    }

    /** An option that may be repeated, each with one String parameter; null when absent. */
    static OptionSpec repeatable(String paramLabel, String description, String... names) {
        return OptionSpec.builder(names).type(List.class).auxiliaryTypes(String.class).paramLabel(paramLabel)
                .description(description).build();
    }

    /** The option's value after parsing, or {@code fallback} when it was not given. */
    static <T> T valueOr(OptionSpec option, T fallback) {
        T v = option.getValue();
        return v != null ? v : fallback;
    }

    /** The positional parameter at {@code index}; arity "1" (required) or "0..1" (optional, null when absent). */
    static PositionalParamSpec positional(String index, String arity, String paramLabel) {
        return PositionalParamSpec.builder().index(index).arity(arity).required(!arity.startsWith("0"))
                .type(String.class).paramLabel(paramLabel).build();
    }

    /** One or more file names (a List of String): the commands that take several images in one call. */
    static PositionalParamSpec positionalList(String paramLabel) {
        return PositionalParamSpec.builder().index("0..*").arity("1..*").required(true).type(java.util.List.class)
                .auxiliaryTypes(String.class).paramLabel(paramLabel).build();
    }
}
