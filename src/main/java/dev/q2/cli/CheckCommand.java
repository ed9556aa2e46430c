package dev.q2.cli;

import dev.q2.check.CheckFailedException;
import dev.q2.check.CheckMode;
import dev.q2.check.CheckReport;
import dev.q2.check.CheckResult;
import dev.q2.check.Qcow2Checker;
import dev.q2.create.CreatePlanner;
import dev.q2.image.Devices;
import dev.q2.image.PersistentBitmaps;
import dev.q2.image.Qcow2Image;
import dev.q2.io.ImageFile;
import dev.q2.io.QemuLock;
import dev.q2.block.BlockGraph;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** q2 check: qemu-img check for qcow2 images, with the same output, exit codes and repairs. */
final class CheckCommand implements Callable<Integer> {
    static final String NAME = "check";

    private final Main main;
    private final CommandSpec spec = CommandSpec.wrapWithoutInspection(this);
    private final CommonOptions common = new CommonOptions();
    /** Formats whose QEMU driver has no check: qemu-img refuses them with exit 63 (after opening them). */
    private static final java.util.Set<String> NO_CHECK = java.util.Set.of("vpc", "qcow", "dmg", "cloop", "bochs");
    private final OptionSpec formatOpt = Options.value("FMT", "Image format (qcow2 or raw); probed when absent", "-f");
    private final OptionSpec outputOpt = Options.value("FMT", "human (default) or json", "--output");
    private final OptionSpec repairOpt = Options.value("leaks|all", "Repair leaked clusters, or all problems", "-r");
    private final OptionSpec quietOpt = Options.flag("Print nothing on stdout", "-q", "--quiet");
    private final OptionSpec forceShareOpt =
            Options.flag("Open the image even if another process holds it", "-U", "--force-share");
    private final OptionSpec cacheOpt = Options.value("CACHE", "Accepted for qemu-img compatibility; ignored", "-T");
    private final PositionalParamSpec filenameParam = Options.positionalList("FILENAME");
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

    CheckCommand(Main main) {
        this.main = main;
        spec.name(NAME);
        spec.usageMessage().description("Check a qcow2 image for consistency and optionally repair it").sortOptions(false)
                .footer("", "Several images are checked in parallel and reported in the order given (human: one block"
                        + " each, headed 'image: FILE'; JSON: one array). The exit code is then the most severe:"
                        + " 1 over 2 over 3 over 63 over 0.");
        common.addTo(spec);
        spec.addOption(formatOpt);
        spec.addOption(outputOpt);
        spec.addOption(repairOpt);
        spec.addOption(quietOpt);
        spec.addOption(forceShareOpt);
        spec.addOption(cacheOpt);
        spec.addPositional(filenameParam);
    }

    CommandSpec spec() {
        return spec;
    }

    @Override
    public Integer call() throws Exception {
        ParseResult parsed = spec.commandLine().getParseResult();
        common.apply(parsed);
        format = Options.valueOr(formatOpt, format);
        output = Options.valueOr(outputOpt, output);
        repair = Options.valueOr(repairOpt, repair);
        quiet = parsed.hasMatchedOption(quietOpt);
        forceShare = parsed.hasMatchedOption(forceShareOpt);
        cache = Options.valueOr(cacheOpt, cache);
        List<String> filenames = filenameParam.getValue();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
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
        if (mode.repairs() && forceShare) {
            err.println("q2: Could not open '" + filename + "': force-share=on can only be used with read-only images");
            return 1;
        }
        Path path = main.resolve(filename);
        if (filename.isEmpty() || java.nio.file.Files.isDirectory(path)) { // the file protocol's refusals
            err.println("q2: " + Errors.imageOpenFailure(filename, path, null));
            return 1;
        }
        ImageFile f;
        try {
            f = mode.repairs() ? ImageFile.openReadWrite(path) : ImageFile.openReadOnly(path);
        } catch (IOException e) {
            err.println("q2: " + Errors.imageOpenFailure(filename, path, e));
            return 1;
        }
        try (f; QemuLock lock = lock(f, path, mode)) {
            String fmt = format != null ? format : Devices.probe(f);
            if (NO_CHECK.contains(fmt)) {
                try {
                    dev.q2.probe.FormatProber.readHeader(f, fmt); // qemu-img opens the image before it asks
                } catch (dev.q2.image.ImageException e) {
                    err.println("q2: Could not open '" + filename + "': " + e.getMessage());
                    return 1;
                }
            }
            if (fmt.equals("raw") || NO_CHECK.contains(fmt)) {
                err.println("q2: This image format does not support checks");
                return NOT_CHECKABLE;
            }
            if (dev.q2.probe.FormatProber.FOREIGN.contains(fmt)) {
                err.println("q2: " + dev.q2.probe.FormatProber.cannotRead(fmt));
                return 1;
            }
            if (!fmt.equals("qcow2")) {
                err.println("q2: Could not open '" + filename + "': Unknown driver '" + fmt + "'");
                return 1;
            }
            Qcow2Image image;
            try {
                image = Qcow2Image.loadForCheck(f);
                if (mode.repairs() && PersistentBitmaps.updateHeaderForRepair(f, image)) {
                    image = Qcow2Image.loadForCheck(f); // as qemu-img's read-write open rewrote the header
                }
            } catch (RuntimeException | IOException e) {
                err.println("q2: " + Errors.couldNotOpen(filename, e));
                debug(e, err);
                return 1;
            }
            if (image.header().hasFeature(dev.q2.format.Features.INCOMPAT_DATA_FILE) && "".equals(image.dataFile())) {
                // QEMU opens the data file with the image; an empty name (a C string starting with NUL) fails there
                err.println("q2: Could not open '" + filename + "': The 'file' block driver requires a file name");
                return 1;
            }
            String backing = image.backingFile();
            if (backing != null && !backing.isEmpty()) {
                // qemu-img check opens the backing chain with the image, and fails when it cannot (an encrypted
                // backing file without its secret, a missing one); the check itself never reads it.
                try (BlockGraph chain = BlockGraph.open(main.workDir(),
                        CreatePlanner.combinedName(filename, backing), image.backingFormat(), forceShare)) {
                    chain.length();
                } catch (RuntimeException | IOException e) {
                    err.println("q2: Could not open '" + filename + "': Could not open backing file: "
                            + Errors.describe(e));
                    debug(e, err);
                    return 1;
                }
            }
            Qcow2Checker.Session session = new Qcow2Checker.Session();
            CheckResult result;
            try {
                result = Qcow2Checker.check(image, mode, err, session);
                if (result.corruptionsFixed != 0 || result.leaksFixed != 0) {
                    if (!json && !quiet) {
                        out.print(CheckReport.repairedBanner(result));
                        out.flush();
                    }
                    CheckResult first = result;
                    result = Qcow2Checker.check(Qcow2Image.loadForCheck(f), CheckMode.NONE, err, session);
                    result.leaksFixed = first.leaksFixed;
                    result.corruptionsFixed = first.corruptionsFixed;
                }
            } catch (CheckFailedException e) {
                err.println("q2: Check failed: " + e.getMessage());
                return 1;
            }
            if (!quiet) {
                out.print(json ? CheckReport.json(result, filename, fmt) : CheckReport.human(result));
                out.flush();
            }
            if (result.checkErrors != 0) {
                err.println("q2: Check failed");
                return 1;
            }
            return result.exitCode();
        } catch (QemuLock.LockConflictException e) {
            err.println("q2: Could not open '" + filename + "': " + e.qemuLines(filename));
            return 1;
        }
    }

    private QemuLock lock(ImageFile f, Path path, CheckMode mode) throws IOException {
        if (forceShare) {
            return null;
        }
        if (mode.repairs()) {
            return QemuLock.acquire(f.channel(), path, QemuLock.PERM_CONSISTENT_READ | QemuLock.PERM_WRITE
                    | QemuLock.PERM_RESIZE, QemuLock.PERM_CONSISTENT_READ | QemuLock.PERM_WRITE_UNCHANGED);
        }
        return QemuLock.acquire(f.channel(), path, 0,
                QemuLock.PERM_ALL & ~(QemuLock.PERM_WRITE | QemuLock.PERM_RESIZE));
    }

    private static void debug(Exception e, PrintWriter err) {
        if (Logging.debugEnabled()) {
            e.printStackTrace(err);
        }
    }
}
