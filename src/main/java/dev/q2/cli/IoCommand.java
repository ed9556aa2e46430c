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
    private final OptionSpec cacheOpt = Options.value("MODE",
            "Cache mode (none, writeback, writethrough, directsync, unsafe); checked, q2 io's I/O is the same in all",
            "-t", "--cache");
    private final OptionSpec nocacheOpt = Options.flag("Short for -t none", "-n", "--nocache");
    private final OptionSpec aioOpt = Options.value("MODE", "AIO mode (threads, native or io_uring); checked only",
            "-i", "--aio");
    private final OptionSpec nativeAioOpt = Options.flag("Short for -i native", "-k", "--native-aio");
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
        spec.addOption(cacheOpt);
        spec.addOption(nocacheOpt);
        spec.addOption(aioOpt);
        spec.addOption(nativeAioOpt);
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
        // -t/-n and -i/-k: checked and accepted as qemu-io checks them (-t and -i win over -n and -k); q2 io reads
        // and writes through the page cache and flushes at the end in every mode.
        String cache = Options.valueOr(cacheOpt, parsed.hasMatchedOption(nocacheOpt) ? "none" : "writeback");
        boolean direct;
        switch (cache) {
            case "none", "off", "directsync" -> direct = true;
            case "writeback", "writethrough", "unsafe" -> direct = false;
            default -> {
                err.println("q2: Invalid cache option: " + cache);
                return 1;
            }
        }
        String aio = Options.valueOr(aioOpt, parsed.hasMatchedOption(nativeAioOpt) ? "native" : "threads");
        if (!aio.equals("threads") && !aio.equals("native") && !aio.equals("io_uring")) {
            err.println("q2: Invalid aio option: " + aio);
            return 1;
        }
        if (aio.equals("native") && !direct && filename != null) {
            err.println("q2: can't open device " + filename
                    + ": aio=native was specified, but it requires cache.direct=on, which was not specified.");
            return 1;
        }
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
            disk = Qcow2Disk.open(main.resolve(filename), opt.withWorkDir(main.workDir()), err);
        } catch (Exception e) {
            err.println("q2: can't open device " + filename + ": " + openError(e));
            return 1;
        }
        try (disk) {
            IoScript script = new IoScript(disk, out, err);
            if (commands.isEmpty()) {
                BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                for (String line = in.readLine(); line != null && !script.quit(); line = in.readLine()) {
                    script.run(line);
                }
            } else {
                for (String c : commands) {
                    if (script.quit()) {
                        break;
                    }
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
        // The image itself opened as far as its format goes: what failed may lie below it. The chain reader that
        // map and compare share opens the chain as QEMU's block layer does and words a backing file's failure as
        // qemu-io does ("Could not open backing file: Could not open 'NAME': ...", NAME as the image names it).
        try (dev.q2.block.BlockGraph chain = dev.q2.block.BlockGraph.open(main.workDir(), filename, format, true)) {
            chain.length();
        } catch (Exception below) {
            return Errors.describe(below);
        }
        return Errors.describe(e);
    }
}
