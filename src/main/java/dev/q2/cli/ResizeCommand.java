package dev.q2.cli;

import dev.q2.create.Preallocation;
import dev.q2.resize.Resizer;
import dev.q2.util.Sizes;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/** q2 resize: qemu-img resize, same files, messages and refusals, for qcow2 images and raw files. */
final class ResizeCommand implements Callable<Integer> {
    static final String NAME = "resize";

    private final Main main;
    private final CommandSpec spec = CommandSpec.wrapWithoutInspection(this);
    private final CommonOptions common = new CommonOptions();
    private final OptionSpec formatOption = Options.value("FMT", "Image format (qcow2 or raw; probed if absent)", "-f");
    private final OptionSpec shrinkOption = Options.flag("Allow shrinking (data past the new end is lost)",
            "--shrink");
    private final OptionSpec preallocOption = Options.value("MODE",
            "Preallocation of the new area: off, metadata, falloc or full", "--preallocation");
    private final OptionSpec quietOption = Options.flag("Quiet: do not print 'Image resized.'", "-q");
    private final OptionSpec objectOption = Options.repeatable("OBJECT", "Accepted as qemu-img does; unused",
            "--object");
    private final OptionSpec imageOptsOption = Options.flag("Not supported: FILE is a file name", "--image-opts");
    private final PositionalParamSpec argsParam = PositionalParamSpec.builder().index("0..*").arity("0..*")
            .type(List.class).auxiliaryTypes(String.class).paramLabel("FILE [+|-]SIZE").build();

    ResizeCommand(Main main) {
        this.main = main;
        spec.name(NAME);
        spec.usageMessage().description("Change the virtual size of an image (qcow2 or raw), as qemu-img resize")
                .sortOptions(false);
        common.addTo(spec);
        spec.addOption(formatOption);
        spec.addOption(shrinkOption);
        spec.addOption(preallocOption);
        spec.addOption(quietOption);
        spec.addOption(objectOption);
        spec.addOption(imageOptsOption);
        spec.addPositional(argsParam);
    }

    CommandSpec spec() {
        return spec;
    }

    /**
     * qemu-img takes the size from the end of the command line before it parses options, so that "-1G" is a size:
     * "--" goes in front of the last argument. Fewer than two arguments after the command name: qemu-img's "Not
     * enough arguments" (the arguments are left as they are and the command says so).
     */
    static String[] sizeLast(String[] args) {
        int at = Arrays.asList(args).indexOf(NAME);
        if (at < 0 || args.length - at - 1 < 2) {
            return args;
        }
        List<String> out = new ArrayList<>(Arrays.asList(args));
        out.add(out.size() - 1, "--");
        return out.toArray(String[]::new);
    }

    @Override
    public Integer call() {
        ParseResult parsed = spec.commandLine().getParseResult();
        common.apply(parsed);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<String> args = argsParam.getValue() == null ? new ArrayList<>() : new ArrayList<>(argsParam.getValue());
        int given = args.size() + (parsed.hasMatchedOption(quietOption) ? 1 : 0)
                + (parsed.hasMatchedOption(shrinkOption) ? 1 : 0) + (formatOption.getValue() != null ? 1 : 0)
                + (preallocOption.getValue() != null ? 1 : 0);
        if (given < 2) {
            err.println("q2: Not enough arguments\nTry 'q2 --help' for more information");
            return 1;
        }
        // a "--" the user gave before the size ends the options, as for getopt
        if (args.size() > 2 && args.get(args.size() - 2).equals("--")) {
            args.remove(args.size() - 2);
        }
        Preallocation prealloc = Preallocation.OFF;
        String p = preallocOption.getValue();
        if (p != null) {
            prealloc = switch (p) {
                case "off" -> Preallocation.OFF;
                case "metadata" -> Preallocation.METADATA;
                case "falloc" -> Preallocation.FALLOC;
                case "full" -> Preallocation.FULL;
                default -> null;
            };
            if (prealloc == null) {
                err.println("q2: Invalid preallocation mode '" + p + "'");
                return 1;
            }
        }
        if (args.size() != 2) {
            err.println("q2: Expecting image file name and size\nTry 'q2 --help' for more information");
            return 1;
        }
        if (parsed.hasMatchedOption(imageOptsOption)) {
            err.println("q2: --image-opts is not supported: give a file name");
            return 1;
        }
        String filename = args.get(0);
        String size = args.get(1);
        int relative = 0;
        if (size.startsWith("+")) {
            relative = 1;
            size = size.substring(1);
        } else if (size.startsWith("-")) {
            relative = -1;
            size = size.substring(1);
        }
        long n;
        try {
            n = Sizes.parse(size).value();
        } catch (Sizes.SizeFormatException e) {
            err.println("q2: Parameter 'size' expects a non-negative number below 2^64\n"
                    + "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
                    + "and exabytes, respectively.");
            return 1;
        }
        String format = formatOption.getValue();
        Path path = main.resolve(filename);
        boolean quiet = parsed.hasMatchedOption(quietOption);
        Resizer.Open image;
        try {
            if (format == null && !filename.isEmpty() && "raw".equals(dev.q2.image.Devices.probe(path))) {
                err.println("WARNING: Image format was not specified for '" + filename
                        + "' and probing guessed raw.\n"
                        + "         Automatically detecting the format is dangerous for raw images, write operations"
                        + " on block 0 will be restricted.\n"
                        + "         Specify the 'raw' format explicitly to remove the restrictions.");
            }
            dev.q2.util.Phases.mark("resize: arguments");
            image = Resizer.open(path, format, err);
            dev.q2.util.Phases.mark("resize: open");
        } catch (Exception e) {
            err.println("q2: " + Errors.imageOpenFailure(filename, path, e));
            return 1;
        }
        try (Resizer.Open img = image) {
            long current = img.currentSize();
            long total = relative != 0 ? current + n * relative : n;
            if (total <= 0) {
                err.println("q2: New image size must be positive");
                return 1;
            }
            if (total <= current && prealloc != Preallocation.OFF) {
                err.println("q2: Preallocation can only be used for growing images");
                return 1;
            }
            if (total < current && !parsed.hasMatchedOption(shrinkOption)) {
                err.println("q2: Use the --shrink option to perform a shrink operation.");
                err.println("q2: warning: Shrinking an image will delete all data beyond the shrunken image's end."
                        + " Before performing such an operation, make sure there is no important data there.");
                return 1;
            }
            img.resize(total, prealloc);
            dev.q2.util.Phases.mark("resize: resize");
            if (!quiet) {
                out.println("Image resized.");
                out.flush();
            }
            return 0;
        } catch (Exception e) {
            err.println("q2: " + Errors.describe(e));
            return 1;
        }
    }
}
