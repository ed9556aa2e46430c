package dev.q2.cli;

import dev.q2.block.ImageName;
import dev.q2.amend.Amender;
import dev.q2.resize.Resizer;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** q2 amend: qemu-img amend for qcow2 images, same files, messages and refusals. */
final class AmendCommand extends Subcommand {
    static final String NAME = "amend";

    private final OptionSpec formatOption = Options.value("FMT", "Image format (qcow2; probed if absent)", "-f");
    private final OptionSpec optionsOption = Options.repeatable("OPTIONS",
            "Comma-separated options to change; '-o help' lists them", "-o");
    private final OptionSpec cacheOption = Options.value("CACHE", "Cache mode (accepted, q2 always syncs)", "-t");
    private final OptionSpec progressOption = Options.progress();
    private final OptionSpec quietOption = Options.quiet();
    private final OptionSpec imageOptsOption = Options.imageOpts();
    private final PositionalParamSpec filesParam = Options.operands("FILE");

    AmendCommand(Main main) {
        super(main, NAME);
        declare("Change the format options of a qcow2 image, as qemu-img amend", formatOption, optionsOption,
                cacheOption, progressOption, quietOption,
                Options.flag("Allow changes qemu-img guards with --force", "--force"), Options.unusedObjects(),
                imageOptsOption, filesParam);
    }

    private static boolean hasHelp(String options) {
        for (String item : options.split(",")) {
            String key = item.contains("=") ? item.substring(0, item.indexOf('=')) : item;
            if (key.equals("help") || key.equals("?")) {
                return true;
            }
        }
        return false;
    }

    @Override
    public Integer call() {
        ParseResult parsed = parsed();
        PrintWriter out = out();
        PrintWriter err = err();
        List<String> optionList = optionsOption.getValue();
        if (optionList == null || optionList.isEmpty()) {
            return Errors.usage(err, "Must specify options (-o)");
        }
        String options = String.join(",", optionList);
        boolean progress = parsed.hasMatchedOption(progressOption) && !parsed.hasMatchedOption(quietOption);
        String fmt = formatOption.getValue();
        List<String> files = Options.valueOr(filesParam, List.of());
        try {
            if (fmt != null && hasHelp(options)) {
                return help(fmt, out, err);
            }
            if (files.size() != 1) {
                return Errors.fail(err, "Expecting one image file name");
            }
            String cache = cacheOption.getValue();
            if (cache != null && !Options.CACHE_MODES.contains(cache)) {
                return Errors.fail(err, "Invalid cache option: " + cache);
            }
            String given = files.get(0);
            ImageName name = ImageNames.read(given, parsed.hasMatchedOption(imageOptsOption), fmt, err);
            if (name == null) {
                return 1;
            }
            // amend opens no backing file and reads no guest data: a data file given for the image changes nothing
            String refused = ImageNames.unhonoured(name, false, false, true);
            if (refused == null && name.flag("read-only")) {
                refused = "the option 'read-only' (it writes the image)";
            }
            if (refused != null) {
                return Errors.fail(err, "Could not open '" + given + "': q2 amend does not support " + refused);
            }
            String filename = name.filename();
            Path path = main.resolve(filename);
            String nameFormat = name.format(fmt);
            String format = open(filename, err, () -> nameFormat != null ? nameFormat
                    : probeForWrite(filename, path, err));
            if (format == null) {
                return 1;
            }
            if (!format.equals("qcow2")) {
                // qemu-img opens the image first
                if (open(filename, err, () -> {
                    Resizer.open(path, format, err).close();
                    return format;
                }) == null) {
                    return 1;
                }
                return hasHelp(options) ? help(format, out, err) : Errors.fail(err, "Format driver '" + format
                        + "' does not support option amendment");
            }
            Resizer.Qcow2Open img = open(filename, err, () -> Resizer.Qcow2Open.open(path, err));
            if (img == null) {
                return 1;
            }
            try (img) {
                return hasHelp(options) ? help("qcow2", out, err) : amend(img, options, progress, out);
            }
        } catch (Exception e) {
            return Errors.fail(err, Errors.describe(e));
        }
    }

    /** Amends the open image with qemu-img's progress line (a failure ends it too, then propagates). */
    private static int amend(Resizer.Qcow2Open image, String options, boolean progress, PrintWriter out)
            throws java.io.IOException {
        Map<String, String> parsedOptions = Amender.parse(options);
        double[] last = {0};
        Amender.Progress bar = p -> {
            if (!progress) {
                return;
            }
            double cur = Math.min(p, 100);
            // qemu's rule (a move of more than 1%, or 0 or 100), and a move back by as much
            if (cur > last[0] + 1 || cur < last[0] - 1 || cur == 0 || cur == 100) {
                last[0] = cur;
                out.print("    (" + QemuProgress.printf2((float) cur) + "/100%)\r");
                out.flush();
            }
        };
        bar.print(0);
        try {
            try {
                Amender.amend(image, parsedOptions, bar);
            } finally {
                bar.print(100); // qemu-img prints it before it reports a failure
            }
        } finally {
            if (progress) {
                out.print("\n");
                out.flush();
            }
        }
        return 0;
    }

    private static int help(String format, PrintWriter out, PrintWriter err) {
        if (format.equals("qcow2")) {
            out.print(Amender.HELP);
            out.flush();
            return 0;
        }
        if (format.equals("raw") || dev.q2.probe.FormatProber.FOREIGN.contains(format)) {
            err.println("q2: Format driver '" + format + "' does not support option amendment");
        } else {
            err.println("q2: Unknown file format '" + format + "'");
        }
        return 1;
    }
}
