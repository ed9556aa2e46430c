package dev.q2.cli;

import dev.q2.image.Devices;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.Model.UsageMessageSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * What every q2 subcommand has: its picocli spec (built programmatically, no reflection at start-up), q2's common
 * options (--debug, logging), the {@link Main} that resolves its file names, and the steps that the commands which
 * open an image share: counting the file operands, probing the format, and reporting a failed open in qemu-img's
 * words.
 */
abstract class Subcommand implements Callable<Integer> {
    final Main main;
    final CommandSpec spec = CommandSpec.wrapWithoutInspection(this);
    final CommonOptions common = new CommonOptions();

    Subcommand(Main main, String name) {
        this.main = main;
        spec.name(name);
    }

    final CommandSpec spec() {
        return spec;
    }

    /**
     * Declares the command's line: its description, then q2's common options, then {@code args} (options and
     * positional parameters) in the order --help and the man page list them. Returns the usage message, for a
     * footer or synopsis.
     */
    final UsageMessageSpec declare(String description, ArgSpec... args) {
        UsageMessageSpec usage = spec.usageMessage().description(description).sortOptions(false);
        common.addTo(spec);
        for (ArgSpec a : args) {
            if (a instanceof OptionSpec o) {
                spec.addOption(o);
            } else {
                spec.addPositional((PositionalParamSpec) a);
            }
        }
        return usage;
    }

    /** The parse result of this run, with the common options applied (call once, first thing in call()). */
    final ParseResult parsed() {
        ParseResult parsed = spec.commandLine().getParseResult();
        common.apply(parsed);
        return parsed;
    }

    /** The secrets of this run's {@code --object} options; null when none were given (see {@link #readObjects}). */
    dev.q2.crypto.Secrets secrets;

    /**
     * Reads the {@code --object} options first, as qemu-img creates its objects before anything else; a command
     * without any loads no crypto class.
     *
     * @param objects the command's {@code --object} option
     * @param err where qemu-img's error goes
     * @return false after printing the error (exit 1)
     */
    final boolean readObjects(OptionSpec objects, PrintWriter err) {
        if (ObjectOptions.given(objects.getValue())) {
            secrets = ObjectOptions.secrets(objects.getValue(), err);
            return secrets != null;
        }
        return true;
    }

    final PrintWriter out() {
        return spec.commandLine().getOut();
    }

    final PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /**
     * The one image file name among {@code operands} ({@link Options#operands}), or null after qemu-img's
     * "Expecting one image file name" and the hint to --help.
     */
    static String oneFile(PositionalParamSpec operands, PrintWriter err) {
        List<String> files = operands.getValue();
        if (files == null || files.size() != 1) {
            Errors.usage(err, "Expecting one image file name");
            return null;
        }
        return files.get(0);
    }

    /**
     * The format of the image {@code filename} (at {@code path}) that no -f names, probed as QEMU's block layer
     * probes it for a read-write open, which warns of a raw guess (the warning goes to {@code err}).
     */
    static String probeForWrite(String filename, Path path, PrintWriter err) throws java.io.IOException {
        String format = Devices.probe(path);
        if (format.equals("raw")) {
            err.println(Errors.rawProbeWarning(filename));
        }
        return format;
    }

    /** Opens something an image command works on; the failure is reported by {@link #open}. */
    interface Opener<T> {
        T open() throws Exception;
    }

    /**
     * Opens the image {@code filename} with {@code opener}, or returns null after printing qemu-img's words for the
     * failure ({@link Errors#imageOpenFailure}); the caller's exit code is then 1.
     */
    final <T> T open(String filename, PrintWriter err, Opener<T> opener) {
        try {
            return opener.open();
        } catch (Exception e) {
            Errors.fail(err, Errors.imageOpenFailure(filename, main.resolve(filename), e));
            return null;
        }
    }

    /**
     * Why the chain below the image {@code filename} cannot be read, as the block graph that map and compare share
     * opens it (and words a backing file's failure as qemu-img does), or null when it reads. For an image that
     * opened as far as its own format goes but failed below it.
     */
    final Exception chainFailure(String filename, String format) {
        return chainFailure(filename, format, null);
    }

    /** As {@link #chainFailure(String, String)}, the chain opened with the keys its open was given (or null). */
    final Exception chainFailure(String filename, String format, dev.q2.crypto.ImageKeys keys) {
        try (dev.q2.block.BlockGraph chain = dev.q2.block.BlockGraph.openWithKeys(main.workDir(), filename, format,
                true, false, dev.q2.block.References.ALL, keys)) {
            chain.length();
            return null;
        } catch (Exception below) {
            return below;
        }
    }
}
