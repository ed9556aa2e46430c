package dev.q2.cli;

import dev.q2.create.CreateException;
import dev.q2.create.CreateOptions;
import dev.q2.create.CreatePlanner;
import dev.q2.create.CreateRequest;
import dev.q2.create.Qcow2Creator;
import dev.q2.io.QemuLock;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;

/** q2 create: qemu-img create -f qcow2, with identical files and messages. */
final class CreateCommand extends Subcommand {
    static final String NAME = "create";

    private final OptionSpec formatOption = Options.value("FMT", "Image format: qcow2 (the default), raw or luks", "-f");
    private final OptionSpec optionsOption =
            Options.repeatable("OPTIONS", "Comma-separated qcow2 options; '-o help' lists them", "-o");
    private final OptionSpec backingFileOption = Options.value("BACKING_FILE", "Backing file", "-b");
    private final OptionSpec backingFormatOption = Options.value("BACKING_FMT", "Backing file format", "-F");
    private final OptionSpec unsafeOption = Options.flag("Do not open the backing file (unsafe)", "-u");
    private final OptionSpec quietOption = Options.flag("Quiet: do not print the Formatting line", "-q");
    private final OptionSpec objectOption = Options.repeatable("OBJECT",
            "A secret for encrypt.key-secret: secret,id=ID,data=DATA|file=PATH[,format=raw|base64]", "--object");
    private final PositionalParamSpec filenameParam = Options.positional("0", "0..1", "FILENAME");
    private final PositionalParamSpec sizeParam = Options.positional("1", "0..1", "SIZE");

    CreateCommand(Main main) {
        super(main, NAME);
        declare("Create a new qcow2, raw or luks image", formatOption, optionsOption, backingFileOption, backingFormatOption,
                unsafeOption, quietOption, objectOption, filenameParam, sizeParam);
    }

    @Override
    public Integer call() throws Exception {
        ParseResult parsed = parsed();
        String format = formatOption.getValue() == null ? "qcow2" : formatOption.getValue();
        List<String> options = optionsOption.getValue() == null ? List.of() : optionsOption.getValue();
        String backingFile = backingFileOption.getValue();
        String backingFormat = backingFormatOption.getValue();
        boolean unsafe = parsed.hasMatchedOption(unsafeOption);
        boolean quiet = parsed.hasMatchedOption(quietOption);
        String filename = filenameParam.getValue();
        String size = sizeParam.getValue();
        PrintWriter out = out();
        PrintWriter err = err();
        for (String o : options) {
            for (String item : o.split(",")) {
                if (item.equals("help") || item.equals("?")) {
                    out.print(format.equals("raw") ? dev.q2.create.RawCreator.helpText(filename != null)
                            : CreateOptions.helpText());
                    out.flush();
                    return 0;
                }
            }
        }
        if (!readObjects(objectOption, err)) {
            return 1;
        }
        if (format.equals("luks") && filename != null) {
            return createLuks(filename, size, options, secrets, quiet, out, err);
        }
        if (format.equals("raw") && filename != null) {
            return createRaw(filename, size, options, backingFile, backingFormat, quiet, out, err);
        }
        if (!format.equals("qcow2")) {
            err.println("q2: Unknown file format '" + format + "' (q2 creates qcow2, raw and luks images only)");
            return 1;
        }
        if (filename == null) {
            err.println("q2: Expecting image file name (try 'q2 create --help')");
            return 1;
        }
        String file = localName(filename, err);
        if (file == null) {
            return 1;
        }
        CreateOptions opts = new CreateOptions();
        CreatePlanner.Plan plan;
        try {
            for (String o : options) {
                CreatePlanner.parseOptions(o, opts);
            }
            plan = CreatePlanner.plan(new CreateRequest(main.workDir(), filename, size, opts, backingFile, backingFormat, unsafe),
                    secrets);
        } catch (CreateException e) {
            if (e.afterFormatting() && !quiet) {
                out.println(CreatePlanner.formattingLine(filename, opts));
                out.flush();
            }
            return planRefused(filename, e, err);
        }
        announce(plan.warnings(), plan.formattingLine(), quiet, out, err);
        Path path = main.resolve(file);
        try {
            QemuLock.checkNotInUse(path);
            Qcow2Creator.create(path, plan.spec(), main.workDir());
            if (plan.encryption() != null) {
                plan.encryption().apply(path);
            }
        } catch (Exception e) {
            err.println("q2: " + filename + ": " + (e instanceof dev.q2.io.QemuLock.LockConflictException lock
                    ? lock.qemuLines(filename) : Errors.describe(e)));
            return 1;
        }
        return 0;
    }

    /**
     * The new file's name as QEMU's file protocol reads it: file: is stripped, other protocols are refused (null,
     * the error printed).
     */
    private static String localName(String filename, PrintWriter err) {
        if (!dev.q2.format.ChildNames.hasProtocol(filename)) {
            return filename;
        }
        String protocol = filename.substring(0, filename.indexOf(':'));
        if (!protocol.equals("file")) {
            err.println("q2: " + filename + ": Unknown protocol '" + protocol + "'");
            return null;
        }
        return filename.substring(5);
    }

    /** qemu-img create -f raw (dev.q2.create.RawCreator). */
    private int createRaw(String filename, String size, List<String> options, String backingFile,
                          String backingFormat, boolean quiet, PrintWriter out, PrintWriter err) {
        String file = localName(filename, err);
        if (file == null) {
            return 1;
        }
        dev.q2.create.RawCreator.Plan plan;
        try {
            plan = dev.q2.create.RawCreator.plan(filename, size, options, backingFile, backingFormat);
        } catch (CreateException e) {
            return planRefused(filename, e, err);
        }
        announce(plan.warnings(), plan.formattingLine(), quiet, out, err);
        Path path = main.resolve(file);
        try {
            QemuLock.checkNotInUse(path);
            dev.q2.create.RawCreator.create(path, file, plan);
        } catch (CreateException e) {
            err.println("q2: " + filename + ": " + e.getMessage());
            return 1;
        } catch (Exception e) {
            err.println("q2: " + filename + ": " + (e instanceof dev.q2.io.QemuLock.LockConflictException lock
                    ? lock.qemuLines(filename) : Errors.describe(e)));
            return 1;
        }
        return 0;
    }

    /** qemu-img create -f luks: a LUKS volume (dev.q2.create.LuksVolumeCreator). */
    private int createLuks(String filename, String size, List<String> options, dev.q2.crypto.Secrets secrets,
                           boolean quiet, PrintWriter out, PrintWriter err) {
        dev.q2.create.LuksVolumeCreator.Plan plan;
        try {
            plan = dev.q2.create.LuksVolumeCreator.plan(filename, size, options);
        } catch (CreateException e) {
            err.println("q2: " + filename + ": " + e.getMessage());
            return 1;
        }
        if (!quiet) {
            out.println(plan.formattingLine());
            out.flush();
        }
        try {
            dev.q2.create.LuksVolumeCreator.create(main.resolve(filename), plan, secrets);
        } catch (CreateException e) {
            err.println("q2: " + filename + ": " + e.getMessage());
            return 1;
        } catch (Exception e) {
            err.println("q2: " + filename + ": " + Errors.describe(e));
            return 1;
        }
        return 0;
    }

    /** A refused plan: qemu-img names the file, except in its size messages. */
    private static int planRefused(String filename, CreateException e, PrintWriter err) {
        err.println(e.getMessage().startsWith("Invalid image size")
                ? "q2: " + e.getMessage() : "q2: " + filename + ": " + e.getMessage());
        return 1;
    }

    /** The plan's warnings, then the "Formatting" line unless -q. */
    private static void announce(java.util.List<String> warnings, String formattingLine, boolean quiet,
                                 PrintWriter out, PrintWriter err) {
        for (String w : warnings) {
            err.println("q2: " + w);
        }
        if (!quiet) {
            out.println(formattingLine);
            out.flush();
        }
    }
}
