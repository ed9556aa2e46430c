package dev.q2.fuzz;

import dev.q2.check.CheckFailedException;
import dev.q2.compress.CompressionException;
import dev.q2.format.FormatException;
import dev.q2.image.ImageException;
import dev.q2.map.MapException;

import java.io.IOException;

/**
 * The fuzz targets' property: only q2's own failures may escape, the ones the command line turns into a one-line
 * message and an exit code (dev.q2.cli.Errors, the commands' handlers). Anything else (NullPointerException,
 * IndexOutOfBoundsException, NegativeArraySizeException, ArithmeticException, IllegalArgumentException,
 * OutOfMemoryError, ...) is a defect and is rethrown for Jazzer to report.
 */
final class Q2Errors {
    private Q2Errors() {
    }

    /** A call that may fail only in q2's own ways. */
    interface Call {
        void run() throws Exception;
    }

    /** Runs {@code call}, swallowing q2's own failures and letting everything else through. */
    static void expect(Call call) throws Exception {
        try {
            call.run();
        } catch (Exception e) {
            if (!isQ2s(e)) {
                throw e;
            }
        }
    }

    static boolean isQ2s(Throwable t) {
        return t instanceof ImageException || t instanceof FormatException || t instanceof MapException
                || t instanceof CompressionException || t instanceof CheckFailedException
                // I/O errors are reported as such (qemu-img: strerror); the JDK's IllegalArgumentException for a
                // negative position is not one of them
                || t instanceof IOException;
    }
}
