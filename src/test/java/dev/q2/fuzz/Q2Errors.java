package dev.q2.fuzz;

import dev.q2.check.CheckFailedException;
import dev.q2.compress.CompressionException;
import dev.q2.format.FormatException;
import dev.q2.image.ImageException;
import dev.q2.map.MapException;

import java.io.IOException;
import java.nio.file.Path;

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

    /** A call on the image a fuzz input builds. */
    interface ImageCall {
        void run(Path img) throws Exception;
    }

    /**
     * Builds the image of {@code input} ({@link FuzzImage#write}; none for an input it skips) and runs each of
     * {@code calls} on it, each allowed to fail only in q2's own ways.
     */
    static void onImage(byte[] input, ImageCall... calls) throws Exception {
        Path img = FuzzImage.write(input);
        if (img == null) {
            return;
        }
        for (ImageCall c : calls) {
            expect(() -> c.run(img));
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
