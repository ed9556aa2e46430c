package dev.q2.cli;

import dev.q2.block.OpenErrors;

import java.io.PrintWriter;
import java.nio.file.Path;

/**
 * Descriptions of failures for the user, in the words qemu-img uses where it has words for them (the wording of
 * open failures is the library's, {@link OpenErrors}), and how a command prints them: "q2: " and the message on
 * stderr, a stack trace too with --debug where the command shows one, and the exit code.
 */
final class Errors {
    private Errors() {
    }

    /**
     * Prints "q2: MESSAGE" (and, with --debug, the stack trace) on {@code err}; returns 1, the exit code of a command
     * that failed this way.
     */
    static int report(PrintWriter err, String message, Throwable t) {
        err.println("q2: " + message);
        debug(t, err);
        return 1;
    }

    /** {@link #report} of a failure in its own words ({@link #describe}). */
    static int report(PrintWriter err, Throwable t) {
        return report(err, describe(t), t);
    }

    /** Prints "q2: MESSAGE" on {@code err}, no stack trace even with --debug; returns 1. */
    static int fail(PrintWriter err, String message) {
        err.println("q2: " + message);
        return 1;
    }

    /**
     * A mistake in the command line, as qemu-img's error_exit says it: "q2: MESSAGE" and the hint to --help on the
     * next line; returns 1.
     */
    static int usage(PrintWriter err, String message) {
        return fail(err, message + "\nTry 'q2 --help' for more information");
    }

    /** With --debug, the stack trace of {@code t} on {@code err}. */
    static void debug(Throwable t, PrintWriter err) {
        if (Logging.debugEnabled()) {
            t.printStackTrace(err);
        }
    }

    static String describe(Throwable t) {
        return OpenErrors.reason(t);
    }

    /** "Could not open 'x': reason", as qemu-img says it (a lock conflict names the image as the user did). */
    static String couldNotOpen(String filename, Throwable t) {
        return OpenErrors.couldNotOpen(filename, t);
    }

    /** qemu-img's words when the image {@code filename} cannot be opened: {@link OpenErrors#imageOpenFailure}. */
    static String imageOpenFailure(String filename, Path path, Throwable t) {
        return OpenErrors.imageOpenFailure(filename, path, t);
    }

    /** As {@link #imageOpenFailure(String, Path, Throwable)} for an image named {@code given} whose file is {@code file}. */
    static String imageOpenFailure(String given, String file, Path path, Throwable t) {
        return OpenErrors.imageOpenFailure(given, file, path, t);
    }

    /**
     * What QEMU's block layer prints when it opens a probed raw image for writing (three lines, no program name).
     */
    static String rawProbeWarning(String filename) {
        return "WARNING: Image format was not specified for '" + filename + "' and probing guessed raw.\n"
                + "         Automatically detecting the format is dangerous for raw images, write operations on"
                + " block 0 will be restricted.\n"
                + "         Specify the 'raw' format explicitly to remove the restrictions.";
    }
}
