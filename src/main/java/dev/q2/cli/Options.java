package dev.q2.cli;

import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

import java.util.List;

/**
 * Builders for the options of q2's commands, declared with picocli's programmatic API rather than annotations: the
 * annotation model costs reflection, generic-signature parsing and one dynamic proxy class per annotation type at
 * every start, about half of q2's start-up (docs/performance.md). Values are read back with {@code getValue()}.
 */
final class Options {
    /** The cache modes QEMU's bdrv_parse_cache_mode knows ("off" is an old name for none), for -t and -T. */
    static final java.util.Set<String> CACHE_MODES = java.util.Set.of("none", "off", "directsync", "writeback",
            "writethrough", "unsafe");

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

    /** The option's (or positional parameter's) value after parsing, or {@code fallback} when it was not given. */
    static <T> T valueOr(ArgSpec arg, T fallback) {
        T v = arg.getValue();
        return v != null ? v : fallback;
    }

    /** --output, human or json, as qemu-img's commands that print a report take it. */
    static OptionSpec output() {
        return value("FMT", "human (default) or json", "--output");
    }

    /** --output that may be given again (the last one counts, each is checked), as map and measure read it. */
    static OptionSpec outputs() {
        return repeatable("FMT", "human (default) or json", "--output");
    }

    /** -p, qemu-img's progress line. */
    static OptionSpec progress() {
        return flag("Show progress", "-p");
    }

    /** -q, as most of qemu-img's commands take it. */
    static OptionSpec quiet() {
        return flag("Quiet", "-q");
    }

    /** -U/--force-share of a command that opens one image. */
    static OptionSpec forceShare() {
        return forceShare("Open the image even if another process holds it");
    }

    /** -U/--force-share: open without taking QEMU's write-sharing locks ({@code what} says which images). */
    static OptionSpec forceShare(String what) {
        return flag(what, "-U", "--force-share");
    }

    /** --object, which qemu-img needs for secrets, taken and ignored as qemu-img takes it where none is used. */
    static OptionSpec unusedObjects() {
        return repeatable("OBJECT", "Accepted as qemu-img does; unused", "--object");
    }

    /** --image-opts: the FILE operand is QEMU's options (driver=qcow2,file.filename=PATH,...), not a file name. */
    static OptionSpec imageOpts() {
        return flag("FILE is block options (driver=qcow2,file.filename=PATH,...), not a file name", "--image-opts");
    }

    /** The positional parameter at {@code index}; arity "1" (required) or "0..1" (optional, null when absent). */
    static PositionalParamSpec positional(String index, String arity, String paramLabel) {
        return PositionalParamSpec.builder().index(index).arity(arity).required(!arity.startsWith("0"))
                .type(String.class).paramLabel(paramLabel).build();
    }

    /** One or more file names (a List of String): the commands that take several images in one call. */
    static PositionalParamSpec positionalList(String paramLabel) {
        return PositionalParamSpec.builder().index("0..*").arity("1..*").required(true).type(List.class)
                .auxiliaryTypes(String.class).paramLabel(paramLabel).build();
    }

    /**
     * Any number of words (a List of String, null when none): the commands that count their operands themselves,
     * to refuse a wrong number in qemu-img's words ("Expecting one image file name") rather than picocli's.
     */
    static PositionalParamSpec operands(String paramLabel) {
        return PositionalParamSpec.builder().index("0..*").arity("0..*").type(List.class)
                .auxiliaryTypes(String.class).paramLabel(paramLabel).build();
    }
}
