package dev.q2.cli;

import dev.q2.compare.Comparer;
import dev.q2.image.BlockDevice;
import dev.q2.block.BlockGraph;
import dev.q2.image.CorruptMetadataException;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;

/**
 * q2 compare: qemu-img compare's messages and exit codes (0 identical, 1 different, 2 open or other error, 3 a
 * block status query failed, 4 a read failed).
 */
final class CompareCommand extends Subcommand {
    static final String NAME = "compare";

    private final OptionSpec format1Opt = Options.value("FMT", "Format of the first image", "-f");
    private final OptionSpec format2Opt = Options.value("FMT", "Format of the second image", "-F");
    private final OptionSpec strictOpt = Options.flag("Strict: images of different sizes differ", "-s");
    private final OptionSpec quietOpt = Options.flag("Quiet", "-q");
    private final OptionSpec forceShareOpt =
            Options.flag("Open the images even if another process holds them", "-U", "--force-share");
    private final PositionalParamSpec image1Param = Options.positional("0", "1", "IMAGE1");
    private final PositionalParamSpec image2Param = Options.positional("1", "1", "IMAGE2");

    String format1;
    String format2;
    boolean strict;
    boolean quiet;
    boolean forceShare;
    String image1;
    String image2;

    CompareCommand(Main main) {
        super(main, NAME);
        spec.usageMessage().description("Compare the guest contents of two images").sortOptions(false);
        common.addTo(spec);
        spec.addOption(format1Opt);
        spec.addOption(format2Opt);
        spec.addOption(strictOpt);
        spec.addOption(quietOpt);
        spec.addOption(forceShareOpt);
        spec.addPositional(image1Param);
        spec.addPositional(image2Param);
    }

    @Override
    public Integer call() {
        ParseResult parsed = parsed();
        format1 = Options.valueOr(format1Opt, format1);
        format2 = Options.valueOr(format2Opt, format2);
        strict = parsed.hasMatchedOption(strictOpt);
        quiet = parsed.hasMatchedOption(quietOpt);
        forceShare = parsed.hasMatchedOption(forceShareOpt);
        image1 = image1Param.getValue();
        image2 = image2Param.getValue();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        BlockGraph ca = null;
        BlockGraph cb = null;
        BlockDevice a = null;
        BlockDevice b = null;
        try {
            // As img_open: the first image with its whole chain, then the second. The graphs take QEMU's locks;
            // their readers read under them.
            String current = image1;
            try {
                ca = BlockGraph.open(main.workDir(), image1, format1, forceShare);
                a = ca.reader();
                current = image2;
                cb = BlockGraph.open(main.workDir(), image2, format2, forceShare);
                b = cb.reader();
            } catch (Exception e) {
                err.println("q2: " + Errors.couldNotOpen(current, e));
                debug(e, err);
                return 2;
            }
            Comparer.Result r = Comparer.compare(new Comparer.Image(a, ca), new Comparer.Image(b, cb), strict,
                    new Runnable() { // not a lambda: see DiskState's constructor
                        @Override
                        public void run() {
                            print(out, "Warning: Image size mismatch!");
                        }
                    });
            switch (r.outcome()) {
                case SIZE_MISMATCH -> {
                    print(out, "Strict mode: Image size mismatch!");
                    return 1;
                }
                case STATUS_MISMATCH -> {
                    print(out, "Strict mode: Offset " + r.offset() + " block status mismatch!");
                    return 1;
                }
                case CONTENT_MISMATCH -> {
                    print(out, "Content mismatch at offset " + r.offset() + "!");
                    return 1;
                }
                default -> {
                    print(out, "Images are identical.");
                    return 0;
                }
            }
        } catch (Comparer.StatusException e) {
            out.flush();
            if (e.getCause() instanceof CorruptMetadataException c) {
                err.println(c.qemuReport());
            }
            err.println("q2: Sector allocation test failed for " + name(e.image()));
            debug(e, err);
            return 3;
        } catch (Comparer.ReadException e) {
            out.flush();
            // QEMU's qcow2 driver fails such reads (a compressed cluster that does not decompress...) with EIO
            err.println("q2: Error while reading offset " + e.offset() + " of " + name(e.image())
                    + ": Input/output error");
            debug(e, err);
            return 4;
        } catch (Exception e) {
            err.println("q2: Error while comparing: " + Errors.describe(e));
            debug(e, err);
            return 2;
        } finally {
            // the readers close with their graphs
            closeQuietly(ca);
            closeQuietly(cb);
            out.flush();
        }
    }

    private String name(int image) {
        return image == 1 ? image1 : image2;
    }

    private static void debug(Exception e, PrintWriter err) {
        if (Logging.debugEnabled()) {
            e.printStackTrace(err);
        }
    }

    private void print(PrintWriter out, String line) {
        if (!quiet) {
            out.println(line);
        }
    }

    private static void closeQuietly(AutoCloseable d) {
        if (d != null) {
            try {
                d.close();
            } catch (Exception e) {
                // nothing more to report
            }
        }
    }
}
