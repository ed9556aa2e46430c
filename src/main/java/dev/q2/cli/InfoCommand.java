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
        // info reads no data file, and without --backing-chain no backing file: data-file and backing: null change
        // nothing then; options for a backing image are refused below, as qemu-img refuses them
        ImageName name = ImageNames.read(file, parsed.hasMatchedOption(imageOpts), format.getValue(), err);
        if (name == null) {
            return 1;
        }
        String backingOption = backingOption(name);
        if (backingOption != null) {
            // qemu-img info opens no backing image (BDRV_O_NO_BACKING), so options for one are left over
            String driver = name.format(format.getValue()); // (backing options are read for qcow2 only)
            return Errors.fail(err, "Could not open '" + file + "': Block format '"
                    + (driver != null ? driver : "qcow2") + "' does not support the option '" + backingOption + "'");
        }
        // encrypt.key-secret: info reads no guest data (QEMU's BDRV_O_NO_IO), so the secret is never looked up
        String refused = ImageNames.unhonoured(name, !chained, true, true, true);
        if (refused != null) {
            return Errors.fail(err, "Could not open '" + file + "': q2 info does not support " + refused);
        }
        String fmt = name.format(format.getValue());
        boolean share = parsed.hasMatchedOption(forceShare) || name.flag("force-share");
        String given = file;
        file = name.filename();
        try {
            if (chained) {
                List<ImageInfo> chain = ImageInfoCollector.collectChain(main.workDir(), file, fmt, share);
                shownAs(chain.get(0), name);
                out.print(outputFormat.equals("json") ? InfoPrinter.jsonChain(chain) : InfoPrinter.humanChain(chain));
            } else {
                ImageInfo info = ImageInfoCollector.collect(main.workDir(), file, fmt, share);
                shownAs(info, name);
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

    /** Names the image as QEMU names it after its open ({@link ImageName#refreshedFilename}) where that differs. */
    private static void shownAs(ImageInfo info, ImageName name) {
        String shown = name.refreshedFilename((String) info.qapi().get("format"));
        if (shown != null) {
            info.qapi().replace("filename", shown);
        }
    }

    /**
     * The option for a backing image the name gives (backing.driver, backing.file.filename,
     * backing.encrypt.key-secret), the first in the order QEMU's QDict lists them, or null.
     */
    private static String backingOption(ImageName name) {
        dev.q2.util.QDict left = new dev.q2.util.QDict();
        if (name.backingFormat() != null) {
            left.put("backing.driver", "");
        }
        for (String k : name.options().keySet()) {
            if (k.startsWith("backing.")) {
                left.put(k, "");
            }
        }
        return left.keys().isEmpty() ? null : left.keys().get(0);
    }
}
