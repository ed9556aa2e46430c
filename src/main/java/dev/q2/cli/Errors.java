package dev.q2.cli;

import dev.q2.block.OpenErrors;

/**
 * Descriptions of failures for the user, in the words qemu-img uses where it has words for them; the wording of
 * open failures is the library's ({@link OpenErrors}).
 */
final class Errors {
    private Errors() {
    }

    /**
     * Prints "q2: MESSAGE" (and, with --debug, the stack trace) on {@code err}; returns 1, the exit code of a command
     * that failed this way.
     */
    static int report(java.io.PrintWriter err, String message, Throwable t) {
        err.println("q2: " + message);
        if (Logging.debugEnabled()) {
            t.printStackTrace(err);
        }
        return 1;
    }

    static String describe(Throwable t) {
        return OpenErrors.reason(t);
    }

    /** "Could not open 'x': reason", as qemu-img says it (a lock conflict names the image as the user did). */
    static String couldNotOpen(String filename, Throwable t) {
        return OpenErrors.couldNotOpen(filename, t);
    }

    /** qemu-img's words when the image {@code filename} cannot be opened: {@link OpenErrors#imageOpenFailure}. */
    static String imageOpenFailure(String filename, java.nio.file.Path path, Throwable t) {
        return OpenErrors.imageOpenFailure(filename, path, t);
    }
}
