package dev.q2.cli;

import dev.q2.chain.ChainException;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;

/**
 * What q2 rebase and q2 commit share (qemu-img's img_rebase and img_commit): one image FILE of a backing chain, its
 * -f, the target cache mode -t, -p and -q, and how a failure of the chain operation is reported.
 */
abstract class ChainCommand extends Subcommand {
    final OptionSpec formatOpt = Options.value("FMT", "Format of the image (qcow2); probed when absent", "-f");
    final OptionSpec progressOpt = Options.progress();
    final OptionSpec quietOpt = Options.quiet();
    final OptionSpec cacheOpt;
    final PositionalParamSpec fileParam = Options.operands("FILE");
    final OptionSpec imageOptsOpt = Options.imageOpts();

    ChainCommand(Main main, String name, String cacheDescription) {
        super(main, name);
        cacheOpt = Options.value("CACHE", cacheDescription, "-t");
    }

    /**
     * The image operand read as a block-layer name (file:, json:, --image-opts) for a command that opens it as a
     * file and format only, or null after the error.
     */
    final dev.q2.block.ImageName imageName(String given, ParseResult parsed, PrintWriter err) {
        return ImageNames.plain(spec.name(), given, parsed.hasMatchedOption(imageOptsOpt), formatOpt.getValue(), true,
                err);
    }

    /** -p, unless -q. */
    final boolean progress(ParseResult parsed) {
        return parsed.hasMatchedOption(progressOpt) && !parsed.hasMatchedOption(quietOpt);
    }

    /** -t (writeback when absent) if QEMU knows it, else null after qemu-img's refusal. */
    final String cache(PrintWriter err) {
        String cache = Options.valueOr(cacheOpt, "writeback");
        if (!Options.CACHE_MODES.contains(cache)) {
            Errors.fail(err, "Invalid cache option: " + cache);
            return null;
        }
        return cache;
    }

    /**
     * The operation failed: "q2: " and qemu-img's message (the library's words for other failures), after what
     * stdout holds; returns 1.
     */
    static int failed(Exception e, PrintWriter out, PrintWriter err) {
        out.flush();
        return Errors.report(err, e instanceof ChainException ? e.getMessage() : Errors.describe(e), e);
    }
}
