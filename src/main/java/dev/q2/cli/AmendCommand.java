package dev.q2.cli;

import dev.q2.amend.Amender;
import dev.q2.resize.Resizer;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** q2 amend: qemu-img amend for qcow2 images, same files, messages and refusals. */
final class AmendCommand implements Callable<Integer> {
    static final String NAME = "amend";

    private final Main main;
    private final CommandSpec spec = CommandSpec.wrapWithoutInspection(this);
    private final CommonOptions common = new CommonOptions();
    private final OptionSpec formatOption = Options.value("FMT", "Image format (qcow2; probed if absent)", "-f");
    private final OptionSpec optionsOption = Options.repeatable("OPTIONS",
            "Comma-separated options to change; '-o help' lists them", "-o");
    private final OptionSpec cacheOption = Options.value("CACHE", "Cache mode (accepted, q2 always syncs)", "-t");
    private final OptionSpec progressOption = Options.flag("Show progress", "-p");
    private final OptionSpec quietOption = Options.flag("Quiet", "-q");
    private final OptionSpec forceOption = Options.flag("Allow changes qemu-img guards with --force", "--force");
    private final OptionSpec objectOption = Options.repeatable("OBJECT", "Accepted as qemu-img does; unused",
            "--object");
    private final OptionSpec imageOptsOption = Options.flag("Not supported: FILE is a file name", "--image-opts");
    private final picocli.CommandLine.Model.PositionalParamSpec filesParam =
            picocli.CommandLine.Model.PositionalParamSpec.builder().index("0..*").arity("0..*").type(List.class)
                    .auxiliaryTypes(String.class).paramLabel("FILE").build();

    AmendCommand(Main main) {
        this.main = main;
        spec.name(NAME);
        spec.usageMessage().description("Change the format options of a qcow2 image, as qemu-img amend")
                .sortOptions(false);
        common.addTo(spec);
        spec.addOption(formatOption);
        spec.addOption(optionsOption);
        spec.addOption(cacheOption);
        spec.addOption(progressOption);
        spec.addOption(quietOption);
        spec.addOption(forceOption);
        spec.addOption(objectOption);
        spec.addOption(imageOptsOption);
        spec.addPositional(filesParam);
    }

    CommandSpec spec() {
        return spec;
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
        ParseResult parsed = spec.commandLine().getParseResult();
        common.apply(parsed);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<String> optionList = optionsOption.getValue();
        if (optionList == null || optionList.isEmpty()) {
            err.println("q2: Must specify options (-o)\nTry 'q2 --help' for more information");
            return 1;
        }
        String options = String.join(",", optionList);
        boolean quiet = parsed.hasMatchedOption(quietOption);
        boolean progress = parsed.hasMatchedOption(progressOption) && !quiet;
        String fmt = formatOption.getValue();
        List<String> files = filesParam.getValue() == null ? List.of() : filesParam.getValue();
        try {
            if (fmt != null && hasHelp(options)) {
                return help(fmt, out, err);
            }
            if (files.size() != 1) {
                err.println("q2: Expecting one image file name");
                return 1;
            }
            String cache = cacheOption.getValue();
            if (cache != null && !List.of("none", "writeback", "unsafe", "directsync", "writethrough")
                    .contains(cache)) {
                err.println("q2: Invalid cache option: " + cache);
                return 1;
            }
            if (parsed.hasMatchedOption(imageOptsOption)) {
                err.println("q2: --image-opts is not supported: give a file name");
                return 1;
            }
            String filename = files.get(0);
            Path path = main.resolve(filename);
            String format;
            try {
                format = fmt != null ? fmt : dev.q2.image.Devices.probe(path);
                if (format.equals("raw") && fmt == null) {
                    err.println("WARNING: Image format was not specified for '" + filename
                            + "' and probing guessed raw.\n"
                            + "         Automatically detecting the format is dangerous for raw images, write"
                            + " operations on block 0 will be restricted.\n"
                            + "         Specify the 'raw' format explicitly to remove the restrictions.");
                }
            } catch (Exception e) {
                err.println("q2: " + Errors.imageOpenFailure(filename, path, e));
                return 1;
            }
            if (!format.equals("qcow2")) {
                try {
                    Resizer.open(path, format, err).close(); // qemu-img opens the image first
                } catch (Exception e) {
                    err.println("q2: " + Errors.imageOpenFailure(filename, path, e));
                    return 1;
                }
                if (hasHelp(options)) {
                    return help(format, out, err);
                }
                err.println("q2: Format driver '" + format + "' does not support option amendment");
                return 1;
            }
            Resizer.Qcow2Open img;
            try {
                dev.q2.util.Phases.mark("amend: arguments");
                img = Resizer.Qcow2Open.open(path, err);
                dev.q2.util.Phases.mark("amend: open");
            } catch (Exception e) {
                err.println("q2: " + Errors.imageOpenFailure(filename, path, e));
                return 1;
            }
            try (Resizer.Qcow2Open image = img) {
                if (hasHelp(options)) {
                    return help("qcow2", out, err);
                }
                Map<String, String> parsedOptions = Amender.parse(options);
                double[] last = {0};
                Amender.Progress bar = p -> {
                    if (!progress) {
                        return;
                    }
                    double cur = Math.min(p, 100);
                    if (cur > last[0] + 1 || cur < last[0] - 1 || cur == 0 || cur == 100) {
                        last[0] = cur;
                        // printf("%3.2f") of a float: its exact binary value, ties to even (3.125 prints 3.12)
                        String v = new java.math.BigDecimal((double) (float) cur)
                                .setScale(2, java.math.RoundingMode.HALF_EVEN).toPlainString();
                        out.print("    (" + v + "/100%)\r");
                        out.flush();
                    }
                };
                bar.print(0);
                try {
                    try {
                        Amender.amend(image, parsedOptions, bar);
                        dev.q2.util.Phases.mark("amend: amend");
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
        } catch (Exception e) {
            err.println("q2: " + Errors.describe(e));
            return 1;
        }
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
