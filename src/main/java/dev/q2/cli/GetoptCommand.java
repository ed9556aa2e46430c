package dev.q2.cli;

import dev.q2.util.Getopt;
import picocli.CommandLine.Model.PositionalParamSpec;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;

/**
 * A command whose words qemu-img reads with getopt_long itself (bitmap, dd): picocli only collects the words (with
 * q2's common options), {@link Getopt} reads them, and the options every such qemu-img command shares (-h,
 * --object, --image-opts) and getopt's errors are answered here, in qemu-img's words.
 */
abstract class GetoptCommand extends Subcommand {
    private final PositionalParamSpec args;
    private final String shorts;
    private final Map<String, String[]> longs;

    GetoptCommand(Main main, String name, String shorts, Map<String, String[]> longs, String description,
            String synopsis, String argsDescription) {
        super(main, name);
        this.shorts = shorts;
        this.longs = longs;
        args = PositionalParamSpec.builder().index("0..*").arity("0..*").type(List.class)
                .auxiliaryTypes(String.class).paramLabel("ARGS").description(argsDescription).build();
        declare(description, args).customSynopsis(synopsis);
        spec.parser().unmatchedOptionsArePositionalParams(true).endOfOptionsDelimiter("\u0000"); // "--" is getopt's
    }

    @Override
    public final Integer call() {
        parsed();
        List<String> argv = args.getValue() != null ? args.getValue() : List.of();
        return run(Getopt.parse(argv, shorts, longs), spec.commandLine().getErr());
    }

    /** Runs the command on its words as getopt read them; returns the exit code. */
    abstract int run(Getopt g, PrintWriter err);

    /**
     * Answers an option the command does not handle itself: getopt's error, -h, --object, --image-opts. Returns
     * the exit code (each of them ends the command).
     */
    final int sharedOption(Getopt.Opt o, PrintWriter err) {
        switch (o.key()) {
            case Getopt.ERROR -> {
                return Errors.usage(err, o.arg());
            }
            case "h" -> {
                spec.commandLine().usage(spec.commandLine().getOut());
                return 0;
            }
            case "object" -> {
                return Errors.fail(err, "--object is not supported: q2 has no secrets");
            }
            case "image-opts" -> {
                return Errors.fail(err, "--image-opts is not supported");
            }
            default -> throw new IllegalStateException(o.key());
        }
    }
}
