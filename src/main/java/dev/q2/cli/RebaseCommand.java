package dev.q2.cli;

import dev.q2.chain.ChainException;
import dev.q2.chain.Rebase;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;

/**
 * q2 rebase: qemu-img rebase, safe (copies what the old and new backing chains read differently into the image,
 * then changes the header) or unsafe (-u, the header only); -b "" removes the backing file. See
 * {@link Rebase}.
 */
final class RebaseCommand extends ChainCommand {
    static final String NAME = "rebase";

    private final OptionSpec backingFormatOpt =
            Options.value("BACKING_FMT", "Format of the new backing file (stored in the header)", "-F");
    private final OptionSpec backingOpt =
            Options.value("BACKING", "The new backing file, relative to the image's folder; \"\" for none", "-b");
    private final OptionSpec unsafeOpt =
            Options.flag("Unsafe: change the header only, copy nothing (the old backing file is not opened)", "-u");
    private final OptionSpec srcCacheOpt =
            Options.value("SRC_CACHE", "Cache mode of the backing files (checked; reads are the same)", "-T");
    private final OptionSpec forceShareOpt =
            Options.forceShare("Open the new backing file even if another process holds it");

    RebaseCommand(Main main) {
        super(main, NAME, "Cache mode of the image: writeback (default), none, writethrough, directsync or unsafe (no"
                + " flush to stable storage)");
        declare("Change the backing file of an image", formatOpt, backingFormatOpt, backingOpt, unsafeOpt,
                progressOpt, quietOpt, cacheOpt, srcCacheOpt, forceShareOpt, imageOptsOpt, fileParam);
    }

    @Override
    public Integer call() {
        ParseResult parsed = parsed();
        PrintWriter out = out();
        PrintWriter err = err();
        boolean unsafe = parsed.hasMatchedOption(unsafeOpt);
        String backing = backingOpt.getValue();
        String given = oneFile(fileParam, err);
        dev.q2.block.ImageName name = given == null ? null : imageName(given, parsed, err);
        if (name == null) {
            return 1;
        }
        String file = name.filename();
        if (!unsafe && backing == null) {
            return Errors.usage(err, "Must specify backing file (-b) or use unsafe mode (-u)");
        }
        QemuProgress bar = new QemuProgress(out, progress(parsed), 2.0f);
        bar.print(0, 100);
        try {
            String cache = cache(err);
            if (cache == null) {
                return 1;
            }
            String srcCache = srcCacheOpt.getValue();
            if (srcCache != null && !Options.CACHE_MODES.contains(srcCache)) {
                return Errors.fail(err, "Invalid source cache option: " + srcCache);
            }
            Rebase.Request r = new Rebase.Request(main.workDir(), file, name.format(formatOpt.getValue()), backing,
                    backingFormatOpt.getValue(), unsafe, parsed.hasMatchedOption(forceShareOpt),
                    !cache.equals("unsafe"));
            Rebase.rebase(r, step -> bar.print(step, 100), err);
            bar.print(100, 0);
            return 0;
        } catch (Exception e) {
            if (e instanceof ChainException c && c.headerStep()) {
                bar.print(100, 0);
            }
            return failed(e, out, err);
        } finally {
            bar.end();
        }
    }
}
