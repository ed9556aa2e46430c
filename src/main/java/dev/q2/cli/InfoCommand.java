package dev.q2.cli;

import dev.q2.block.ImageName;
import dev.q2.info.ImageInfo;
import dev.q2.info.ImageInfoCollector;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;
import java.util.List;

/** q2 info: qemu-img info for qcow2 and raw images, plus the L2 cache report. */
final class InfoCommand extends Subcommand {
    static final String NAME = "info";

    /** qemu-img's --object: secrets, checked as qemu-img checks them (the keys of encrypt.key-secret image options). */
    private final OptionSpec objectOpt = Options.repeatable("OBJECT",
            "A secret: secret,id=ID,data=DATA|file=PATH[,format=raw|base64]", "--object");
    private final OptionSpec format =
            Options.value("FMT", "Image format (qcow2 or raw); probed when absent", "-f");
    private final OptionSpec output = Options.output();
    private final OptionSpec backingChain = Options.flag("Show every image of the backing chain", "--backing-chain");
    private final OptionSpec forceShare = Options.forceShare();
    private final OptionSpec imageOpts = Options.imageOpts();
    private final PositionalParamSpec filename = Options.positionalList("FILENAME");

    InfoCommand(Main main) {
        super(main, NAME);
        declare("Show information about an image, including the L2 cache it needs", format, output, backingChain,
                forceShare, imageOpts, objectOpt, filename)
                .footer("", "Several images are read in parallel and shown in the order given (human: one block each;"
                        + " JSON: one array). The exit code is 1 if any could not be read.");
    }

    @Override
    public Integer call() throws Exception {
        ParseResult parsed = parsed();
        PrintWriter out = out();
        PrintWriter err = err();
        if (!readObjects(objectOpt, err)) { // objects first, as in qemu-img
            return 1;
        }
        String outputFormat = output.getValue() == null ? "human" : output.getValue();
        List<String> files = filename.getValue();
        if (!outputFormat.equals("human") && !outputFormat.equals("json")) {
            err.println("q2: --output must be used with human or json as argument.");
            return 1;
        }
        if (files.size() == 1) {
            return info(files.get(0), out, err);
        }
        // several images: read in parallel, printed in order; each human block starts with its "image:" line
        return ManyImages.run(main.workDir(), files, outputFormat.equals("json"), false, this::info, out, err);
    }

    /** qemu-img info of one image (or its chain), printed; returns the exit code. */
    private int info(String file, PrintWriter out, PrintWriter err) {
        ParseResult parsed = spec.commandLine().getParseResult();
        String outputFormat = output.getValue() == null ? "human" : output.getValue();
        boolean chained = parsed.hasMatchedOption(backingChain);
        // info reads no data file, and without --backing-chain no backing file: those options change nothing
        ImageName name = ImageNames.read(file, parsed.hasMatchedOption(imageOpts), format.getValue(), err);
        String refused = name == null ? null : ImageNames.unhonoured(name, !chained, !chained, true);
        if (refused != null) {
            return Errors.fail(err, "Could not open '" + file + "': q2 info does not support " + refused);
        }
        if (name == null) {
            return 1;
        }
        String fmt = name.format(format.getValue());
        boolean share = parsed.hasMatchedOption(forceShare) || name.flag("force-share");
        String given = file;
        file = name.filename();
        try {
            if (chained) {
                List<ImageInfo> chain = ImageInfoCollector.collectChain(main.workDir(), file, fmt, share);
                out.print(outputFormat.equals("json") ? InfoPrinter.jsonChain(chain) : InfoPrinter.humanChain(chain));
            } else {
                ImageInfo info = ImageInfoCollector.collect(main.workDir(), file, fmt, share);
                out.print(outputFormat.equals("json") ? InfoPrinter.json(info) : InfoPrinter.human(info));
            }
        } catch (ImageInfoCollector.BackingLoopException e) {
            return Errors.report(err, e.getMessage(), e);
        } catch (Exception e) {
            return Errors.report(err, Errors.imageOpenFailure(given, file, main.resolve(file), e), e);
        }
        out.flush();
        return 0;
    }
}
