package dev.q2.cli;

import dev.q2.block.ImageName;
import dev.q2.block.References;
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

    /** qemu-img's --object: secrets, checked as qemu-img checks them (the keys of encrypt.key-secret image options). */
    private final OptionSpec objectOpt = Options.repeatable("OBJECT",
            "A secret: secret,id=ID,data=DATA|file=PATH[,format=raw|base64]", "--object");
    private final OptionSpec format1Opt = Options.value("FMT", "Format of the first image", "-f");
    private final OptionSpec format2Opt = Options.value("FMT", "Format of the second image", "-F");
    private final OptionSpec strictOpt = Options.flag("Strict: images of different sizes differ", "-s");
    private final OptionSpec quietOpt = Options.flag("Quiet", "-q");
    private final OptionSpec forceShareOpt =
            Options.forceShare("Open the images even if another process holds them");
    private final OptionSpec imageOptsOpt = Options.imageOpts();
    private final PositionalParamSpec image1Param = Options.positional("0", "1", "IMAGE1");
    private final PositionalParamSpec image2Param = Options.positional("1", "1", "IMAGE2");

    CompareCommand(Main main) {
        super(main, NAME);
        declare("Compare the guest contents of two images", format1Opt, format2Opt, strictOpt, quietOpt, forceShareOpt,
                imageOptsOpt, objectOpt, image1Param, image2Param);
    }

    @Override
    public Integer call() {
        ParseResult parsed = parsed();
        boolean forceShare = parsed.hasMatchedOption(forceShareOpt);
        String image1 = image1Param.getValue();
        String image2 = image2Param.getValue();
        PrintWriter out = out();
        PrintWriter err = err();
        if (!readObjects(objectOpt, err)) { // objects first, as in qemu-img
            return 1;
        }
        boolean quiet = parsed.hasMatchedOption(quietOpt);
        BlockGraph ca = null;
        BlockGraph cb = null;
        BlockDevice a = null;
        BlockDevice b = null;
        try {
            // As img_open: the first image with its whole chain, then the second. The graphs take QEMU's locks;
            // their readers read under them.
            boolean opts = parsed.hasMatchedOption(imageOptsOpt);
            if (opts && (format1Opt.getValue() != null || format2Opt.getValue() != null)) {
                Errors.fail(err, "--image-opts and --format are mutually exclusive");
                return 2;
            }
            ImageName name1 = ImageNames.withChain(NAME, image1, opts, null, false, main.workDir(), err);
            ImageName name2 = name1 == null ? null
                    : ImageNames.withChain(NAME, image2, opts, null, false, main.workDir(), err);
            if (name2 == null) {
                return 2;
            }
            String current = image1;
            try {
                ca = BlockGraph.openWithKeys(main.workDir(), name1.filename(), name1.format(format1Opt.getValue()),
                        forceShare || name1.flag("force-share"), false, References.ALL, keys(name1));
                a = ca.reader();
                current = image2;
                cb = BlockGraph.openWithKeys(main.workDir(), name2.filename(), name2.format(format2Opt.getValue()),
                        forceShare || name2.flag("force-share"), false, References.ALL, keys(name2));
                b = cb.reader();
            } catch (Exception e) {
                Errors.report(err, Errors.couldNotOpen(current, e), e);
                return 2;
            }
            Comparer.Result r = Comparer.compare(new Comparer.Image(a, ca), new Comparer.Image(b, cb),
                    parsed.hasMatchedOption(strictOpt),
                    new Runnable() { // not a lambda: see DiskState's constructor
                        @Override
                        public void run() {
                            print(out, quiet, "Warning: Image size mismatch!");
                        }
                    });
            switch (r.outcome()) {
                case SIZE_MISMATCH -> {
                    print(out, quiet, "Strict mode: Image size mismatch!");
                    return 1;
                }
                case STATUS_MISMATCH -> {
                    print(out, quiet, "Strict mode: Offset " + r.offset() + " block status mismatch!");
                    return 1;
                }
                case CONTENT_MISMATCH -> {
                    print(out, quiet, "Content mismatch at offset " + r.offset() + "!");
                    return 1;
                }
                default -> {
                    print(out, quiet, "Images are identical.");
                    return 0;
                }
            }
        } catch (Comparer.StatusException e) {
            out.flush();
            if (e.getCause() instanceof CorruptMetadataException c) {
                err.println(c.qemuReport());
            }
            Errors.report(err, "Sector allocation test failed for " + (e.image() == 1 ? image1 : image2), e);
            return 3;
        } catch (Comparer.ReadException e) {
            out.flush();
            // QEMU's qcow2 driver fails such reads (a compressed cluster that does not decompress...) with EIO
            Errors.report(err, "Error while reading offset " + e.offset() + " of " + (e.image() == 1 ? image1 : image2)
                    + ": Input/output error", e);
            return 4;
        } catch (Exception e) {
            Errors.report(err, "Error while comparing: " + Errors.describe(e), e);
            return 2;
        } finally {
            // the readers close with their graphs
            closeQuietly(ca);
            closeQuietly(cb);
            out.flush();
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

    /** A line of compare's report, unless -q. */
    private static void print(PrintWriter out, boolean quiet, String line) {
        if (!quiet) {
            out.println(line);
        }
    }

    /**
     * The keys its encrypt.key-secret and backing.encrypt.key-secret name (looked up only for an encrypted image),
     * or null.
     */
    private dev.q2.crypto.ImageKeys keys(ImageName name) {
        return ObjectOptions.keys(secrets, name);
    }
}
