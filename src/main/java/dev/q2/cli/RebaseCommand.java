package dev.q2.cli;

import dev.q2.chain.ChainException;
import dev.q2.chain.Rebase;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * q2 rebase: qemu-img rebase, safe (copies what the old and new backing chains read differently into the image,
 * then changes the header) or unsafe (-u, the header only); -b "" removes the backing file. See
 * {@link Rebase}.
 */
final class RebaseCommand implements Callable<Integer> {
    static final String NAME = "rebase";

    /** The cache modes QEMU's bdrv_parse_cache_mode knows ("off" is an old name for none). */
    static final Set<String> CACHE_MODES = Set.of("none", "off", "directsync", "writeback", "writethrough",
            "unsafe");

    private final Main main;
    private final CommandSpec spec = CommandSpec.wrapWithoutInspection(this);
    private final CommonOptions common = new CommonOptions();
    private final OptionSpec formatOpt = Options.value("FMT", "Format of the image (qcow2); probed when absent", "-f");
    private final OptionSpec backingFormatOpt =
            Options.value("BACKING_FMT", "Format of the new backing file (stored in the header)", "-F");
    private final OptionSpec backingOpt =
            Options.value("BACKING", "The new backing file, relative to the image's folder; \"\" for none", "-b");
    private final OptionSpec unsafeOpt =
            Options.flag("Unsafe: change the header only, copy nothing (the old backing file is not opened)", "-u");
    private final OptionSpec progressOpt = Options.flag("Show progress", "-p");
    private final OptionSpec quietOpt = Options.flag("Quiet", "-q");
    private final OptionSpec cacheOpt =
            Options.value("CACHE", "Cache mode of the image: writeback (default), none, writethrough, directsync or"
                    + " unsafe (no flush to stable storage)", "-t");
    private final OptionSpec srcCacheOpt =
            Options.value("SRC_CACHE", "Cache mode of the backing files (checked; reads are the same)", "-T");
    private final OptionSpec forceShareOpt =
            Options.flag("Open the new backing file even if another process holds it", "-U", "--force-share");
    private final PositionalParamSpec fileParam = RebaseCommand.files();

    /** FILE, any number given: qemu-img's own "Expecting one image file name" when it is not exactly one. */
    static PositionalParamSpec files() {
        return PositionalParamSpec.builder().index("0..*").arity("0..*").required(false).type(List.class)
                .auxiliaryTypes(String.class).paramLabel("FILE").build();
    }

    RebaseCommand(Main main) {
        this.main = main;
        spec.name(NAME);
        spec.usageMessage().description("Change the backing file of an image").sortOptions(false);
        common.addTo(spec);
        spec.addOption(formatOpt);
        spec.addOption(backingFormatOpt);
        spec.addOption(backingOpt);
        spec.addOption(unsafeOpt);
        spec.addOption(progressOpt);
        spec.addOption(quietOpt);
        spec.addOption(cacheOpt);
        spec.addOption(srcCacheOpt);
        spec.addOption(forceShareOpt);
        spec.addPositional(fileParam);
    }

    CommandSpec spec() {
        return spec;
    }

    @Override
    public Integer call() {
        ParseResult parsed = spec.commandLine().getParseResult();
        common.apply(parsed);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        boolean unsafe = parsed.hasMatchedOption(unsafeOpt);
        boolean quiet = parsed.hasMatchedOption(quietOpt);
        boolean progress = parsed.hasMatchedOption(progressOpt) && !quiet;
        String backing = backingOpt.getValue();
        List<String> files = fileParam.getValue();
        if (files == null || files.size() != 1) {
            err.println("q2: Expecting one image file name\nTry 'q2 --help' for more information");
            return 1;
        }
        if (!unsafe && backing == null) {
            err.println("q2: Must specify backing file (-b) or use unsafe mode (-u)\n"
                    + "Try 'q2 --help' for more information");
            return 1;
        }
        QemuProgress bar = new QemuProgress(out, progress, 2.0f);
        bar.print(0, 100);
        try {
            String cache = Options.valueOr(cacheOpt, "writeback");
            if (!CACHE_MODES.contains(cache)) {
                err.println("q2: Invalid cache option: " + cache);
                return 1;
            }
            String srcCache = srcCacheOpt.getValue();
            if (srcCache != null && !CACHE_MODES.contains(srcCache)) {
                err.println("q2: Invalid source cache option: " + srcCache);
                return 1;
            }
            Rebase.Request r = new Rebase.Request(main.workDir(), files.get(0), formatOpt.getValue(), backing,
                    backingFormatOpt.getValue(), unsafe, parsed.hasMatchedOption(forceShareOpt),
                    !cache.equals("unsafe"));
            try {
                Rebase.rebase(r, step -> bar.print(step, 100), err);
            } catch (ChainException e) {
                if (e.headerStep()) {
                    bar.print(100, 0);
                }
                out.flush();
                err.println("q2: " + e.getMessage());
                if (Logging.debugEnabled()) {
                    e.printStackTrace(err);
                }
                return 1;
            }
            bar.print(100, 0);
            return 0;
        } catch (Exception e) {
            out.flush();
            err.println("q2: " + Errors.describe(e));
            if (Logging.debugEnabled()) {
                e.printStackTrace(err);
            }
            return 1;
        } finally {
            bar.end();
        }
    }
}
