package dev.q2.cli;

import dev.q2.convert.Converter;
import dev.q2.create.CreateException;
import dev.q2.create.CreateOptions;
import dev.q2.create.CreatePlanner;
import dev.q2.create.CreateRequest;
import dev.q2.image.BlockDevice;
import dev.q2.image.Devices;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.DoubleConsumer;

/** q2 convert: qemu-img convert between raw and qcow2, sparse, optionally compressed, with progress. */
final class ConvertCommand implements Callable<Integer> {
    static final String NAME = "convert";

    private final Main main;
    private final CommandSpec spec = CommandSpec.wrapWithoutInspection(this);
    private final CommonOptions common = new CommonOptions();
    private final OptionSpec sourceFormatOpt =
            Options.value("FMT", "Source format (qcow2 or raw); probed when absent", "-f");
    private final OptionSpec targetFormatOpt = Options.value("FMT", "Target format: raw (default) or qcow2", "-O");
    private final OptionSpec optionsOpt = Options.repeatable("OPTIONS", "qcow2 create options for the target", "-o");
    private final OptionSpec compressOpt = Options.flag("Compress the target's data clusters (qcow2)", "-c");
    private final OptionSpec progressOpt = Options.flag("Show progress", "-p");
    private final OptionSpec quietOpt = Options.flag("Quiet", "-q");
    private final OptionSpec forceShareOpt =
            Options.flag("Open the source even if another process holds it", "-U", "--force-share");
    private final PositionalParamSpec sourceParam = Options.positional("0", "1", "SOURCE");
    private final PositionalParamSpec targetParam = Options.positional("1", "1", "TARGET");

    String sourceFormat;
    String targetFormat = "raw";
    List<String> options = new ArrayList<>();
    boolean compress;
    boolean progress;
    boolean quiet;
    boolean forceShare;
    String source;
    String target;

    ConvertCommand(Main main) {
        this.main = main;
        spec.name(NAME);
        spec.usageMessage().description("Convert an image to raw or qcow2").sortOptions(false);
        common.addTo(spec);
        spec.addOption(sourceFormatOpt);
        spec.addOption(targetFormatOpt);
        spec.addOption(optionsOpt);
        spec.addOption(compressOpt);
        spec.addOption(progressOpt);
        spec.addOption(quietOpt);
        spec.addOption(forceShareOpt);
        spec.addPositional(sourceParam);
        spec.addPositional(targetParam);
    }

    CommandSpec spec() {
        return spec;
    }

    @Override
    public Integer call() throws Exception {
        ParseResult parsed = spec.commandLine().getParseResult();
        common.apply(parsed);
        if (sourceFormatOpt.getValue() != null) {
            sourceFormat = sourceFormatOpt.getValue();
        }
        if (targetFormatOpt.getValue() != null) {
            targetFormat = targetFormatOpt.getValue();
        }
        if (optionsOpt.getValue() != null) {
            options = optionsOpt.getValue();
        }
        compress = parsed.hasMatchedOption(compressOpt);
        progress = parsed.hasMatchedOption(progressOpt);
        quiet = parsed.hasMatchedOption(quietOpt);
        forceShare = parsed.hasMatchedOption(forceShareOpt);
        source = sourceParam.getValue();
        target = targetParam.getValue();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (!targetFormat.equals("raw") && !targetFormat.equals("qcow2")) {
            err.println("q2: Unknown file format '" + targetFormat + "'");
            return 1;
        }
        if (compress && targetFormat.equals("raw")) {
            err.println("q2: Compression not supported for this file format");
            return 1;
        }
        if (!options.isEmpty() && targetFormat.equals("raw")) {
            err.println("q2: -o options are only supported for qcow2 targets");
            return 1;
        }
        BlockDevice src;
        try {
            src = Devices.openRead(main.resolve(source), sourceFormat, forceShare);
        } catch (Exception e) {
            err.println("q2: " + Errors.couldNotOpen(source, e));
            return 1;
        }
        try (src) {
            DoubleConsumer bar = progressBar(out);
            Path dst = main.resolve(target);
            if (targetFormat.equals("raw")) {
                Converter.toRaw(src, dst, bar);
            } else {
                CreateOptions opts = new CreateOptions();
                for (String o : options) {
                    CreatePlanner.parseOptions(o, opts);
                }
                if (opts.get("backing_file") != null || opts.get("data_file") != null) {
                    err.println("q2: " + target + ": backing_file and data_file are not supported by q2 convert");
                    return 1;
                }
                CreatePlanner.Plan plan = CreatePlanner.plan(new CreateRequest(main.workDir(), target,
                        Long.toString(src.size()), opts, null, null, false));
                Converter.toQcow2(src, dst, plan.spec(), compress, bar);
            }
            if (progress && !quiet) {
                out.print("\n");
            }
        } catch (CreateException e) {
            err.println("q2: " + target + ": " + e.getMessage());
            return 1;
        } catch (Exception e) {
            err.println("q2: " + Errors.describe(e));
            if (Logging.debugEnabled()) {
                e.printStackTrace(err);
            }
            return 1;
        }
        out.flush();
        return 0;
    }

    /** qemu-img's progress line, "    (42.00/100%)" redrawn with a carriage return, at most once per percent. */
    private DoubleConsumer progressBar(PrintWriter out) {
        if (!progress || quiet) {
            return p -> { };
        }
        double[] last = {-1};
        return p -> {
            if (p - last[0] >= 1 || (p == 100 && last[0] != 100) || last[0] < 0) {
                last[0] = p;
                out.print(String.format(Locale.ROOT, "    (%3.2f/100%%)\r", p));
                out.flush();
            }
        };
    }
}
