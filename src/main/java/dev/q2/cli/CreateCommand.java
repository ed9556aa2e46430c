package dev.q2.cli;

import dev.q2.create.CreateException;
import dev.q2.create.CreateOptions;
import dev.q2.create.CreatePlanner;
import dev.q2.create.CreateRequest;
import dev.q2.create.Qcow2Creator;
import dev.q2.io.QemuLock;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** q2 create: qemu-img create -f qcow2, with identical files and messages. */
@Command(name = "create", description = "Create a new qcow2 image", sortOptions = false)
public final class CreateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @picocli.CommandLine.ParentCommand
    Main main;

    @Option(names = "-f", paramLabel = "FMT", description = "Image format (only qcow2)")
    String format = "qcow2";

    @Option(names = "-o", paramLabel = "OPTIONS", description = "Comma-separated qcow2 options; '-o help' lists them")
    List<String> options = new ArrayList<>();

    @Option(names = "-b", paramLabel = "BACKING_FILE", description = "Backing file")
    String backingFile;

    @Option(names = "-F", paramLabel = "BACKING_FMT", description = "Backing file format")
    String backingFormat;

    @Option(names = "-u", description = "Do not open the backing file (unsafe)")
    boolean unsafe;

    @Option(names = "-q", description = "Quiet: do not print the Formatting line")
    boolean quiet;

    @Parameters(index = "0", arity = "0..1", paramLabel = "FILENAME")
    String filename;

    @Parameters(index = "1", arity = "0..1", paramLabel = "SIZE")
    String size;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        for (String o : options) {
            for (String item : o.split(",")) {
                if (item.equals("help") || item.equals("?")) {
                    out.print(CreateOptions.helpText());
                    out.flush();
                    return 0;
                }
            }
        }
        if (!format.equals("qcow2")) {
            err.println("q2: Unknown file format '" + format + "' (q2 creates qcow2 images only)");
            return 1;
        }
        if (filename == null) {
            err.println("q2: Expecting image file name (try 'q2 create --help')");
            return 1;
        }
        CreateOptions opts = new CreateOptions();
        CreatePlanner.Plan plan;
        try {
            for (String o : options) {
                CreatePlanner.parseOptions(o, opts);
            }
            plan = CreatePlanner.plan(new CreateRequest(main.workDir(), filename, size, opts, backingFile, backingFormat, unsafe));
        } catch (CreateException e) {
            if (e.afterFormatting() && !quiet) {
                out.println(CreatePlanner.formattingLine(filename, opts));
                out.flush();
            }
            err.println(e.getMessage().startsWith("Invalid image size")
                    ? "q2: " + e.getMessage() : "q2: " + filename + ": " + e.getMessage());
            return 1;
        }
        for (String w : plan.warnings()) {
            err.println("q2: " + w);
        }
        if (!quiet) {
            out.println(plan.formattingLine());
            out.flush();
        }
        Path path = main.resolve(filename);
        try {
            QemuLock.checkNotInUse(path);
            Qcow2Creator.create(path, plan.spec());
        } catch (Exception e) {
            err.println("q2: " + filename + ": " + Errors.describe(e));
            return 1;
        }
        return 0;
    }
}
