package dev.q2.cli;

import dev.q2.block.ImageName;
import dev.q2.create.Preallocation;
import dev.q2.resize.Resizer;
import dev.q2.util.Sizes;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** q2 resize: qemu-img resize, same files, messages and refusals, for qcow2 images and raw files. */
final class ResizeCommand extends Subcommand {
    static final String NAME = "resize";

    private final OptionSpec formatOption = Options.value("FMT", "Image format (qcow2 or raw; probed if absent)", "-f");
    private final OptionSpec shrinkOption = Options.flag("Allow shrinking (data past the new end is lost)",
            "--shrink");
    private final OptionSpec preallocOption = Options.value("MODE",
            "Preallocation of the new area: off, metadata, falloc or full", "--preallocation");
    private final OptionSpec quietOption = Options.flag("Quiet: do not print 'Image resized.'", "-q");
    private final OptionSpec imageOptsOption = Options.imageOpts();
    private final PositionalParamSpec argsParam = Options.operands("FILE [+|-]SIZE");

    ResizeCommand(Main main) {
        super(main, NAME);
        declare("Change the virtual size of an image (qcow2 or raw), as qemu-img resize", formatOption,
                shrinkOption, preallocOption, quietOption, Options.unusedObjects(), imageOptsOption, argsParam);
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
        ParseResult parsed = parsed();
        PrintWriter out = out();
        PrintWriter err = err();
        List<String> args = new ArrayList<>(Options.valueOr(argsParam, List.of()));
        int given = args.size() + (parsed.hasMatchedOption(quietOption) ? 1 : 0)
                + (parsed.hasMatchedOption(shrinkOption) ? 1 : 0) + (formatOption.getValue() != null ? 1 : 0)
                + (preallocOption.getValue() != null ? 1 : 0);
        if (given < 2) {
            return Errors.usage(err, "Not enough arguments");
        }
        // a "--" the user gave before the size ends the options, as for getopt
        if (args.size() > 2 && args.get(args.size() - 2).equals("--")) {
            args.remove(args.size() - 2);
        }
        Preallocation prealloc = Preallocation.OFF;
        String p = preallocOption.getValue();
        if (p != null) {
            prealloc = Preallocation.fromOption(p);
            if (prealloc == null) {
                return Errors.fail(err, "Invalid preallocation mode '" + p + "'");
            }
        }
        if (args.size() != 2) {
            return Errors.usage(err, "Expecting image file name and size");
        }
        ImageName name = ImageNames.plain(NAME, args.get(0), parsed.hasMatchedOption(imageOptsOption),
                formatOption.getValue(), true, err);
        if (name == null) {
            return 1;
        }
        String filename = name.filename();
        String size = args.get(1);
        int relative = size.startsWith("+") ? 1 : size.startsWith("-") ? -1 : 0;
        long n;
        try {
            n = Sizes.parse(relative != 0 ? size.substring(1) : size).value();
        } catch (Sizes.SizeFormatException e) {
            return Errors.fail(err, "Parameter 'size' expects a non-negative number below 2^64\n"
                    + "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
                    + "and exabytes, respectively.");
        }
        String format = name.format(formatOption.getValue());
        Path path = main.resolve(filename);
        Resizer.Open image = open(filename, err, () -> {
            if (format == null && !filename.isEmpty()) {
                probeForWrite(filename, path, err);
            }
            return Resizer.open(path, format, err);
        });
        if (image == null) {
            return 1;
        }
        try (image) {
            long current = image.currentSize();
            long total = relative != 0 ? current + n * relative : n;
            if (total <= 0) {
                return Errors.fail(err, "New image size must be positive");
            }
            if (total <= current && prealloc != Preallocation.OFF) {
                return Errors.fail(err, "Preallocation can only be used for growing images");
            }
            if (total < current && !parsed.hasMatchedOption(shrinkOption)) {
                err.println("q2: Use the --shrink option to perform a shrink operation.");
                return Errors.fail(err, "warning: Shrinking an image will delete all data beyond the shrunken"
                        + " image's end. Before performing such an operation, make sure there is no important data"
                        + " there.");
            }
            image.resize(total, prealloc);
            if (!parsed.hasMatchedOption(quietOption)) {
                out.println("Image resized.");
                out.flush();
            }
            return 0;
        } catch (Exception e) {
            return Errors.fail(err, Errors.describe(e));
        }
    }
}
