package dev.q2.cli;

import dev.q2.block.BlockGraph;
import dev.q2.block.ImageName;
import dev.q2.block.References;
import dev.q2.map.ImageMapper;
import dev.q2.map.MapException;
import dev.q2.util.Sizes;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** q2 map: where every byte of the guest disk lives, printed exactly as qemu-img map prints it. */
final class MapCommand extends Subcommand {
    static final String NAME = "map";

    /** qemu-img's --object: secrets, checked as qemu-img checks them (the keys of encrypt.key-secret image options). */
    private final OptionSpec objectOpt = Options.repeatable("OBJECT",
            "A secret: secret,id=ID,data=DATA|file=PATH[,format=raw|base64]", "--object");
    private final OptionSpec formatOpt =
            Options.repeatable("FMT", "Image format (qcow2 or raw); probed when absent", "-f");
    private final OptionSpec outputOpt = Options.outputs();
    private final OptionSpec startOffsetOpt =
            Options.repeatable("OFFSET", "First byte to map (suffixes k, M, G, T, P, E accepted)", "--start-offset");
    private final OptionSpec maxLengthOpt =
            Options.repeatable("LENGTH", "Most bytes to map (suffixes accepted)", "--max-length");
    private final OptionSpec forceShareOpt = Options.forceShare();
    private final PositionalParamSpec filenameParam = Options.positional("0", "1", "FILENAME");
    private final OptionSpec imageOptsOpt = Options.imageOpts();
    private final OptionSpec noReferencesOpt = Options.flag("Open FILENAME only, nothing it names (no backing file,"
            + " no data file): map its own layer, for untrusted images", "--no-references");



    // Options are lists because qemu-img accepts an option again and takes the last (checking sizes on the way).
    List<String> format = new ArrayList<>();
    List<String> output = new ArrayList<>();
    List<String> startOffset = new ArrayList<>();
    List<String> maxLength = new ArrayList<>();
    boolean forceShare;
    boolean noReferences;
    String filename;

    MapCommand(Main main) {
        super(main, NAME);
        declare("Show where the data of an image lives, in the image or its backing chain", formatOpt, outputOpt,
                startOffsetOpt, maxLengthOpt, forceShareOpt, noReferencesOpt, imageOptsOpt, objectOpt, filenameParam);
    }

    @Override
    public Integer call() throws Exception {
        ParseResult parsed = parsed();
        format = Options.valueOr(formatOpt, format);
        output = Options.valueOr(outputOpt, output);
        startOffset = Options.valueOr(startOffsetOpt, startOffset);
        maxLength = Options.valueOr(maxLengthOpt, maxLength);
        forceShare = parsed.hasMatchedOption(forceShareOpt);
        noReferences = parsed.hasMatchedOption(noReferencesOpt);
        filename = filenameParam.getValue();
        PrintWriter out = out();
        PrintWriter err = err();
        if (!readObjects(objectOpt, err)) { // objects first, as in qemu-img
            return 1;
        }
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
        ImageName name = ImageNames.read(filename, parsed.hasMatchedOption(imageOptsOpt), format, err);
        if (name == null) {
            return 1;
        }
        String refused = ImageNames.unhonoured(name, true, true, false, true, true);
        if (refused == null) {
            refused = BackingOverride.refusal(main.workDir(), name, true); // (backing.driver, backing.file.filename)
        }
        if (refused != null) {
            return Errors.fail(err, "Could not open '" + filename + "': q2 map does not support " + refused);
        }
        BlockGraph chain;
        try {
            if (noReferences) {
                name = name.limitedTo(References.NONE);
            }
            chain = BlockGraph.openWithKeys(main.workDir(), name.filename(), name.format(format),
                    forceShare || name.flag("force-share"), false, name.references(),
                    ObjectOptions.keys(secrets, name));
        } catch (Exception e) {
            return Errors.report(err, Errors.couldNotOpen(filename, e), e);
        }
        MapPrinter printer = output.equals("json") ? MapPrinter.json(out) : MapPrinter.human(out);
        try (chain) {
            ImageMapper.map(chain, start, max, printer.merging(), printer);
        } catch (MapException e) {
            printer.flush();
            if (e.getCause() instanceof dev.q2.image.CorruptMetadataException c) {
                err.println(c.qemuReport());
            }
            return Errors.report(err, e.getMessage(), e);
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
