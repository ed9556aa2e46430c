package dev.q2.cli;

import dev.q2.chain.ChainException;
import dev.q2.chain.Commit;
import dev.q2.util.Sizes;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * q2 commit: qemu-img commit. Writes the image's data into its backing file (or -b BASE further down), then empties
 * the image unless -d (or -b); prints "Image committed.". See {@link Commit}.
 */
final class CommitCommand implements Callable<Integer> {
    static final String NAME = "commit";

    private final Main main;
    private final CommandSpec spec = CommandSpec.wrapWithoutInspection(this);
    private final CommonOptions common = new CommonOptions();
    private final OptionSpec formatOpt = Options.value("FMT", "Format of the image (qcow2); probed when absent", "-f");
    private final OptionSpec cacheOpt =
            Options.value("CACHE", "Cache mode: writeback (default), none, writethrough, directsync or unsafe (no"
                    + " flush to stable storage)", "-t");
    private final OptionSpec baseOpt =
            Options.value("BASE", "Commit into this image of the backing chain (implies -d)", "-b");
    private final OptionSpec rateOpt =
            Options.value("RATE", "Rate limit in bytes per second (checked; q2 does not throttle)", "-r");
    private final OptionSpec dropOpt = Options.flag("Leave the image as it is instead of emptying it", "-d");
    private final OptionSpec progressOpt = Options.flag("Show progress", "-p");
    private final OptionSpec quietOpt = Options.flag("Quiet", "-q");
    private final PositionalParamSpec fileParam = RebaseCommand.files();

    CommitCommand(Main main) {
        this.main = main;
        spec.name(NAME);
        spec.usageMessage().description("Commit an image's data into its backing file").sortOptions(false);
        common.addTo(spec);
        spec.addOption(formatOpt);
        spec.addOption(cacheOpt);
        spec.addOption(baseOpt);
        spec.addOption(rateOpt);
        spec.addOption(dropOpt);
        spec.addOption(progressOpt);
        spec.addOption(quietOpt);
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
        String rate = rateOpt.getValue();
        if (rate != null && !validRate(rate, err)) {
            return 1;
        }
        boolean quiet = parsed.hasMatchedOption(quietOpt);
        boolean progress = parsed.hasMatchedOption(progressOpt) && !quiet;
        String base = baseOpt.getValue();
        boolean drop = parsed.hasMatchedOption(dropOpt) || base != null;
        List<String> files = fileParam.getValue();
        if (files == null || files.size() != 1) {
            err.println("q2: Expecting one image file name\nTry 'q2 --help' for more information");
            return 1;
        }
        String cache = Options.valueOr(cacheOpt, "writeback");
        if (!RebaseCommand.CACHE_MODES.contains(cache)) {
            err.println("q2: Invalid cache option: " + cache);
            return 1;
        }
        Commit.Request r = new Commit.Request(main.workDir(), files.get(0), formatOpt.getValue(), base, drop,
                !cache.equals("unsafe"));
        QemuProgress bar = null;
        try {
            QemuProgress b = new QemuProgress(out, progress, 1.0f);
            bar = b;
            Commit.commit(r, p -> b.print(p, 0), err);
            b.print(100, 0);
            b.end();
            bar = null;
        } catch (ChainException e) {
            bar.end();
            out.flush();
            err.println("q2: " + e.getMessage());
            debug(e, err);
            return 1;
        } catch (Exception e) {
            if (bar != null) {
                bar.end();
            }
            out.flush();
            err.println("q2: " + Errors.describe(e));
            debug(e, err);
            return 1;
        }
        if (!quiet) {
            out.println("Image committed.");
        }
        out.flush();
        return 0;
    }

    private static void debug(Exception e, PrintWriter err) {
        if (Logging.debugEnabled()) {
            e.printStackTrace(err);
        }
    }

    /** cvtnum("rate limit"): a size in qemu's notation; qemu-img's two lines otherwise. */
    private static boolean validRate(String arg, PrintWriter err) {
        try {
            Sizes.Parsed p = Sizes.parse(arg);
            if (p.hexWithSuffix()) {
                err.println("q2: warning: Using a multiplier suffix on hex numbers is deprecated: " + arg);
            }
            if (p.value() >= 0) {
                return true;
            }
        } catch (Sizes.SizeFormatException e) {
            if (e.outOfRange()) {
                err.println("q2: Invalid rate limit specified. Must be between 0 and 9223372036854775807.");
                return false;
            }
        }
        err.println("q2: Invalid rate limit specified. You may use k, M, G, T, P or E suffixes for");
        err.println("q2: kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
        return false;
    }
}
