package dev.q2.cli;

import dev.q2.check.CheckFailedException;
import dev.q2.check.CheckMode;
import dev.q2.check.CheckOpenException;
import dev.q2.check.CheckOptions;
import dev.q2.check.CheckReport;
import dev.q2.check.CheckResult;
import dev.q2.check.ImageChecker;
import dev.q2.block.ImageName;
import dev.q2.block.References;
import dev.q2.image.ImageException;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;

/** q2 check: qemu-img check for qcow2 images, with the same output, exit codes and repairs. */
final class CheckCommand extends Subcommand {
    static final String NAME = "check";

    /** qemu-img's --object: secrets, checked as qemu-img checks them (the keys of encrypt.key-secret image options). */
    private final OptionSpec objectOpt = Options.repeatable("OBJECT",
            "A secret: secret,id=ID,data=DATA|file=PATH[,format=raw|base64]", "--object");
    private final OptionSpec formatOpt = Options.value("FMT", "Image format (qcow2 or raw); probed when absent", "-f");
    private final OptionSpec outputOpt = Options.output();
    private final OptionSpec repairOpt = Options.value("leaks|all", "Repair leaked clusters, or all problems", "-r");
    private final OptionSpec quietOpt = Options.flag("Print nothing on stdout", "-q", "--quiet");
    private final OptionSpec forceShareOpt = Options.forceShare();
    private final OptionSpec cacheOpt = Options.value("CACHE", "Accepted for qemu-img compatibility; ignored", "-T");
    private final OptionSpec noReferencesOpt = Options.flag("Open FILENAME only, nothing it names (no backing file,"
            + " no data file): for untrusted images", "--no-references");
    private final PositionalParamSpec filenameParam = Options.positionalList("FILENAME");
    private final OptionSpec imageOptsOpt = Options.imageOpts();
    /** Exit code of qemu-img check for a format it cannot check. */
    static final int NOT_CHECKABLE = 63;

    String format;
    String output = "human";
    String repair;
    boolean quiet;
    boolean forceShare;
    String cache;
    CheckMode mode = CheckMode.NONE;
    boolean json;
    boolean noReferences;

    CheckCommand(Main main) {
        super(main, NAME);
        declare("Check a qcow2 image for consistency and optionally repair it", formatOpt, outputOpt, repairOpt,
                quietOpt, forceShareOpt, cacheOpt, noReferencesOpt, imageOptsOpt, objectOpt, filenameParam)
                .footer("", "Several images are checked in parallel and reported in the order given (human: one block"
                        + " each, headed 'image: FILE'; JSON: one array). The exit code is then the most severe:"
                        + " 1 over 2 over 3 over 63 over 0.");
    }

    @Override
    public Integer call() throws Exception {
        ParseResult parsed = parsed();
        format = Options.valueOr(formatOpt, format);
        output = Options.valueOr(outputOpt, output);
        repair = Options.valueOr(repairOpt, repair);
        quiet = parsed.hasMatchedOption(quietOpt);
        forceShare = parsed.hasMatchedOption(forceShareOpt);
        cache = Options.valueOr(cacheOpt, cache);
        noReferences = parsed.hasMatchedOption(noReferencesOpt);
        List<String> filenames = filenameParam.getValue();
        PrintWriter out = out();
        PrintWriter err = err();
        if (!readObjects(objectOpt, err)) { // objects first, as in qemu-img
            return 1;
        }
        if (repair != null) {
            switch (repair) {
                case "leaks" -> mode = CheckMode.LEAKS;
                case "all" -> mode = CheckMode.ALL;
                default -> {
                    err.println("q2: Unknown option value for -r (expecting 'leaks' or 'all'): " + repair);
                    return 1;
                }
            }
        }
        if (output.equals("json")) {
            json = true;
        } else if (output.equals("human")) {
            json = false;
        } else {
            err.println("q2: --output must be used with human or json as argument.");
            return 1;
        }
        if (filenames.size() == 1) {
            return check(filenames.get(0), out, err);
        }
        // several images: checked in parallel, printed in order (headed by their names), the most severe code
        return ManyImages.run(main.workDir(), filenames, json, !quiet, this::check, out, err);
    }

    /** Checks one image as qemu-img check does, printing its report and errors; returns its exit code. */
    private int check(String filename, PrintWriter out, PrintWriter err) throws IOException {
        ImageName name = ImageNames.read(filename, spec.commandLine().getParseResult().hasMatchedOption(imageOptsOpt),
                format, err);
        if (name == null) {
            return 1;
        }
        String refused = ImageNames.unhonoured(name, true, true, false, true, true);
        if (refused == null) {
            refused = BackingOverride.refusal(main.workDir(), name, true); // (backing.driver, backing.file.filename)
        }
        if (refused == null && mode != CheckMode.NONE && name.flag("read-only")) {
            refused = "the option 'read-only' with -r";
        }
        if (refused != null) {
            return Errors.fail(err, "Could not open '" + filename + "': q2 check does not support " + refused);
        }
        if (noReferences) {
            name = name.limitedTo(References.NONE);
        }
        CheckOptions options = new CheckOptions(mode, name.format(format), forceShare || name.flag("force-share"), filename,
                main.workDir(), name.references(), ObjectOptions.keys(secrets, name));
        Path path = main.resolve(name.filename());
        CheckPrinter printer = new CheckPrinter(out, err, !json && !quiet);
        CheckReport report;
        try {
            report = ImageChecker.check(path, options, printer);
        } catch (CheckFailedException e) {
            err.println("q2: Check failed: " + e.reason());
            return 1;
        } catch (CheckOpenException e) {
            err.println("q2: " + openFailure(e, filename, path));
            if (e.stage() == CheckOpenException.Stage.IMAGE || e.stage() == CheckOpenException.Stage.BACKING) {
                Errors.debug(e.getCause() instanceof Exception x ? x : e, err);
            }
            return e.stage() == CheckOpenException.Stage.NOT_CHECKABLE ? NOT_CHECKABLE : 1;
        } finally {
            printer.finish();
            err.flush();
        }
        CheckResult result = report.result();
        if (!quiet) {
            out.print(json ? CheckPrinter.json(result, filename, report.format()) : CheckPrinter.human(result));
            out.flush();
        }
        if (result.checkErrors() != 0) {
            err.println("q2: Check failed");
            return 1;
        }
        return exitCode(result);
    }

    /** qemu-img's words for an image the check could not open. */
    private static String openFailure(CheckOpenException e, String filename, Path path) {
        Throwable cause = e.getCause();
        return switch (e.stage()) {
            case FILE -> Errors.imageOpenFailure(filename, path, cause);
            case LOCK, IMAGE -> Errors.couldNotOpen(filename, cause);
            case BACKING -> "Could not open '" + filename + "': Could not open backing file: " + Errors.describe(cause);
            case REQUEST, NOT_CHECKABLE -> e.getMessage();
        };
    }

    /** qemu-img check's exit code for a check that completed: 2 corruptions, 3 leaks only, 0 clean. */
    static int exitCode(CheckResult r) {
        if (r.checkErrors() != 0) {
            return 1;
        }
        return r.corruptions() != 0 ? 2 : r.leaks() != 0 ? 3 : 0;
    }
}
