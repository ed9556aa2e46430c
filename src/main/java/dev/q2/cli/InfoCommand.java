package dev.q2.cli;

import dev.q2.info.ImageInfo;
import dev.q2.info.ImageInfoCollector;
import dev.q2.info.InfoPrinter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

/** q2 info: qemu-img info for qcow2 and raw images, plus the L2 cache report. */
@Command(name = "info", description = "Show information about an image, including the L2 cache it needs",
        sortOptions = false)
public final class InfoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @picocli.CommandLine.ParentCommand
    Main main;

    @Option(names = "-f", paramLabel = "FMT", description = "Image format (qcow2 or raw); probed when absent")
    String format;

    @Option(names = "--output", paramLabel = "FMT", description = "human (default) or json")
    String output = "human";

    @Option(names = "--backing-chain", description = "Show every image of the backing chain")
    boolean backingChain;

    @Option(names = {"-U", "--force-share"}, description = "Open the image even if another process holds it")
    boolean forceShare;

    @Parameters(index = "0", paramLabel = "FILENAME")
    String filename;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (!output.equals("human") && !output.equals("json")) {
            err.println("q2: --output must be used with human or json as argument.");
            return 1;
        }
        try {
            if (backingChain) {
                List<ImageInfo> chain = ImageInfoCollector.collectChain(main.workDir(), filename, format, forceShare);
                out.print(output.equals("json") ? InfoPrinter.jsonChain(chain) : InfoPrinter.humanChain(chain));
            } else {
                ImageInfo info = ImageInfoCollector.collect(main.workDir(), filename, format, forceShare);
                out.print(output.equals("json") ? InfoPrinter.json(info) : InfoPrinter.human(info));
            }
        } catch (ImageOpenFailure e) {
            throw e;
        } catch (Exception e) {
            err.println("q2: " + Errors.couldNotOpen(filename, e));
            if (Logging.debugEnabled()) {
                e.printStackTrace(err);
            }
            return 1;
        }
        out.flush();
        return 0;
    }

    /** Marker so that nested "Could not open" failures are not wrapped twice. */
    static final class ImageOpenFailure extends RuntimeException {
    }
}
