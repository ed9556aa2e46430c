package dev.q2.cli;

import dev.q2.chain.Commit;
import dev.q2.util.Sizes;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;

/**
 * q2 commit: qemu-img commit. Writes the image's data into its backing file (or -b BASE further down), then empties
 * the image unless -d (or -b); prints "Image committed.". See {@link Commit}.
 */
final class CommitCommand extends ChainCommand {
    static final String NAME = "commit";

    private final OptionSpec baseOpt =
            Options.value("BASE", "Commit into this image of the backing chain (implies -d)", "-b");
    private final OptionSpec rateOpt =
            Options.value("RATE", "Rate limit in bytes per second (checked; q2 does not throttle)", "-r");
    private final OptionSpec dropOpt = Options.flag("Leave the image as it is instead of emptying it", "-d");
    /** qemu-img's --object: the secrets that encrypt.key-secret and backing.encrypt.key-secret name. */
    private final OptionSpec objectOpt = Options.repeatable("OBJECT",
            "A secret: secret,id=ID,data=DATA|file=PATH[,format=raw|base64]", "--object");

    CommitCommand(Main main) {
        super(main, NAME, "Cache mode: writeback (default), none, writethrough, directsync or unsafe (no flush to"
                + " stable storage)");
        declare("Commit an image's data into its backing file", formatOpt, cacheOpt, baseOpt, rateOpt, dropOpt,
                progressOpt, quietOpt, imageOptsOpt, objectOpt, fileParam);
    }

    @Override
    public Integer call() {
        ParseResult parsed = parsed();
        PrintWriter out = out();
        PrintWriter err = err();
        if (!readObjects(objectOpt, err)) { // objects first, as in qemu-img
            return 1;
        }
        String rate = rateOpt.getValue();
        if (rate != null && !validRate(rate, err)) {
            return 1;
        }
        String base = baseOpt.getValue();
        boolean drop = parsed.hasMatchedOption(dropOpt) || base != null;
        String given = oneFile(fileParam, err);
        // the image and its chain with their keys (encrypt.key-secret, backing.*: iotest 198)
        dev.q2.block.ImageName name = given == null ? null : ImageNames.withChain(NAME, given,
                parsed.hasMatchedOption(imageOptsOpt), formatOpt.getValue(), true, main.workDir(), err);
        if (name == null) {
            return 1;
        }
        String file = name.filename();
        String cache = cache(err);
        if (cache == null) {
            return 1;
        }
        Commit.Request r = new Commit.Request(main.workDir(), file, name.format(formatOpt.getValue()), base, drop,
                !cache.equals("unsafe"), ObjectOptions.keys(secrets, name));
        QemuProgress bar = new QemuProgress(out, progress(parsed), 1.0f);
        try {
            Commit.commit(r, p -> bar.print(p, 0), err);
            bar.print(100, 0);
        } catch (dev.q2.chain.ChainException e) {
            bar.end();
            // qemu-img names the image as it was given (an --image-opts or json: name), not by its file
            String m = e.getMessage() == null ? "" : e.getMessage();
            String opening = "Could not open '" + file + "': ";
            String chainOf = " in the backing chain of '" + file + "'";
            if (!given.equals(file) && (m.startsWith(opening) || m.endsWith(chainOf))) {
                out.flush();
                return Errors.report(err, m.startsWith(opening)
                        ? "Could not open '" + given + "': " + m.substring(opening.length())
                        : m.substring(0, m.length() - chainOf.length()) + " in the backing chain of '" + given + "'",
                        e);
            }
            return failed(e, out, err);
        } catch (Exception e) {
            bar.end();
            return failed(e, out, err);
        }
        bar.end();
        if (!parsed.hasMatchedOption(quietOpt)) {
            out.println("Image committed.");
        }
        out.flush();
        return 0;
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
