package dev.q2.cli;

import dev.q2.guestio.IoScript;
import dev.q2.image.DiskOptions;
import dev.q2.image.Qcow2Disk;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** q2 io: qemu-io's read/write/discard/flush commands on a qcow2 image, from -c options or stdin. */
final class IoCommand implements Callable<Integer> {
    static final String NAME = "io";

    private final Main main;
    private final CommandSpec spec = CommandSpec.wrapWithoutInspection(this);
    private final CommonOptions common = new CommonOptions();
    private final OptionSpec formatOpt = Options.value("FMT", "Image format (only qcow2)", "-f");
    private final OptionSpec commandsOpt = Options.repeatable("CMD", "A command to run; may be repeated", "-c");
    private final OptionSpec readOnlyOpt = Options.flag("Open read-only", "-r", "--read-only");
    private final OptionSpec forceShareOpt =
            Options.flag("Open even if another process holds it (read-only)", "-U", "--force-share");
    private final PositionalParamSpec filenameParam = Options.positional("0", "1", "FILENAME");

    String format = "qcow2";
    List<String> commands = new ArrayList<>();
    boolean readOnly;
    boolean forceShare;
    String filename;

    IoCommand(Main main) {
        this.main = main;
        spec.name(NAME);
        spec.usageMessage().description("Run qemu-io style commands (read, write, discard, flush) on an image").sortOptions(false);
        common.addTo(spec);
        spec.addOption(formatOpt);
        spec.addOption(commandsOpt);
        spec.addOption(readOnlyOpt);
        spec.addOption(forceShareOpt);
        spec.addPositional(filenameParam);
    }

    CommandSpec spec() {
        return spec;
    }

    @Override
    public Integer call() {
        ParseResult parsed = spec.commandLine().getParseResult();
        common.apply(parsed);
        format = Options.valueOr(formatOpt, format);
        commands = Options.valueOr(commandsOpt, commands);
        readOnly = parsed.hasMatchedOption(readOnlyOpt);
        forceShare = parsed.hasMatchedOption(forceShareOpt);
        filename = filenameParam.getValue();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (!format.equals("qcow2")) {
            err.println("q2: q2 io works on qcow2 images only");
            return 1;
        }
        DiskOptions opt = readOnly || forceShare ? DiskOptions.readOnly().withForceShare(forceShare)
                : DiskOptions.readWrite();
        Qcow2Disk disk;
        try {
            if (!parsed.hasMatchedOption(formatOpt)) {
                String probed = dev.q2.image.Devices.probe(main.resolve(filename));
                if (dev.q2.probe.FormatProber.FOREIGN.contains(probed)) {
                    // another format qemu-io would open: named, never read as something else
                    err.println("q2: can't open device " + filename + ": "
                            + dev.q2.probe.FormatProber.cannotRead(probed));
                    return 1;
                }
            }
            disk = Qcow2Disk.open(main.resolve(filename), opt, err);
        } catch (Exception e) {
            err.println("q2: can't open device " + filename + ": " + openError(e));
            return 1;
        }
        try (disk) {
            IoScript script = new IoScript(disk, out, err);
            if (commands.isEmpty()) {
                BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    script.run(line);
                }
            } else {
                for (String c : commands) {
                    script.run(c);
                }
            }
            disk.flush();
            out.flush();
            return script.failed() ? 1 : 0;
        } catch (Exception e) {
            err.println("q2: " + Errors.describe(e));
            if (Logging.debugEnabled()) {
                e.printStackTrace(err);
            }
            return 1;
        }
    }

    /**
     * qemu-io's reason after "can't open device F: ": the file protocol's own words where it fails (naming the
     * file), the format's or the lock's otherwise.
     */
    private String openError(Exception e) {
        if (filename.isEmpty()) {
            return "The 'file' block driver requires a file name";
        }
        if (e instanceof dev.q2.io.QemuLock.LockConflictException lock) {
            return lock.qemuLines(filename);
        }
        if (e instanceof java.nio.file.FileSystemException || java.nio.file.Files.isDirectory(main.resolve(filename))) {
            String reason = java.nio.file.Files.isDirectory(main.resolve(filename)) ? "Is a directory"
                    : Errors.describe(e);
            return "Could not open '" + filename + "': " + reason;
        }
        return Errors.describe(e);
    }
}
