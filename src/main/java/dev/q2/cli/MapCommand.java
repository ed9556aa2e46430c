package dev.q2.cli;

import dev.q2.map.ChainReader;
import dev.q2.map.ImageMapper;
import dev.q2.map.MapException;
import dev.q2.map.MapPrinter;
import dev.q2.util.Sizes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** q2 map: where every byte of the guest disk lives, printed exactly as qemu-img map prints it. */
@Command(name = "map", description = "Show where the data of an image lives, in the image or its backing chain",
        sortOptions = false)
public final class MapCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @picocli.CommandLine.ParentCommand
    Main main;

    // Options are lists because qemu-img accepts an option again and takes the last (checking sizes on the way).
    @Option(names = "-f", paramLabel = "FMT", description = "Image format (qcow2 or raw); probed when absent")
    List<String> format = new ArrayList<>();

    @Option(names = "--output", paramLabel = "FMT", description = "human (default) or json")
    List<String> output = new ArrayList<>();

    @Option(names = "--start-offset", paramLabel = "OFFSET",
            description = "First byte to map (suffixes k, M, G, T, P, E accepted)")
    List<String> startOffset = new ArrayList<>();

    @Option(names = "--max-length", paramLabel = "LENGTH",
            description = "Most bytes to map (suffixes accepted)")
    List<String> maxLength = new ArrayList<>();

    @Option(names = {"-U", "--force-share"}, description = "Open the image even if another process holds it")
    boolean forceShare;

    @Parameters(index = "0", paramLabel = "FILENAME")
    String filename;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        long start = 0;
        long max = -1;
        for (String s : startOffset) {
            start = size(s, "start offset", err);
            if (start < 0) {
                return 1;
            }
        }
        for (String s : maxLength) {
            max = size(s, "max length", err);
            if (max < 0) {
                return 1;
            }
        }
        String output = this.output.isEmpty() ? "human" : this.output.get(this.output.size() - 1);
        String format = this.format.isEmpty() ? null : this.format.get(this.format.size() - 1);
        if (!output.equals("human") && !output.equals("json")) {
            err.println("q2: --output must be used with human or json as argument.");
            return 1;
        }
        ChainReader chain;
        try {
            chain = ChainReader.open(main.workDir(), filename, format, forceShare);
        } catch (Exception e) {
            err.println("q2: " + Errors.couldNotOpen(filename, e));
            if (Logging.debugEnabled()) {
                e.printStackTrace(err);
            }
            return 1;
        }
        MapPrinter printer = output.equals("json") ? MapPrinter.json(out) : MapPrinter.human(out);
        try (chain) {
            ImageMapper.map(chain, start, max, printer);
        } catch (MapException e) {
            printer.flush();
            err.println("q2: " + e.getMessage());
            if (Logging.debugEnabled()) {
                e.printStackTrace(err);
            }
            return 1;
        }
        return 0;
    }

    /** A size option as qemu-img's cvtnum reads it: 0 to INT64_MAX; -1 after reporting an error. */
    private static long size(String arg, String name, PrintWriter err) {
        try {
            Sizes.Parsed p = Sizes.parse(arg);
            if (p.hexWithSuffix()) {
                err.println("q2: warning: Using a multiplier suffix on hex numbers is deprecated: " + arg);
            }
            if (p.value() < 0) {
                err.println("q2: Invalid " + name + " specified. Must be between 0 and 9223372036854775807.");
                return -1;
            }
            return p.value();
        } catch (Sizes.SizeFormatException e) {
            if (e.outOfRange()) {
                err.println("q2: Invalid " + name + " specified. Must be between 0 and 9223372036854775807.");
            } else {
                err.println("q2: Invalid " + name + " specified. You may use k, M, G, T, P or E suffixes for"
                        + " kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
            }
            return -1;
        }
    }
}
