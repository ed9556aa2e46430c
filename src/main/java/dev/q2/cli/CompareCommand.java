package dev.q2.cli;

import dev.q2.compare.Comparer;
import dev.q2.image.BlockDevice;
import dev.q2.image.Devices;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** q2 compare: qemu-img compare's messages and exit codes (0 identical, 1 different, 2 error). */
@Command(name = "compare", description = "Compare the guest contents of two images", sortOptions = false)
public final class CompareCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @ParentCommand
    Main main;

    @Option(names = "-f", paramLabel = "FMT", description = "Format of the first image")
    String format1;

    @Option(names = "-F", paramLabel = "FMT", description = "Format of the second image")
    String format2;

    @Option(names = "-s", description = "Strict: images of different sizes differ")
    boolean strict;

    @Option(names = "-q", description = "Quiet")
    boolean quiet;

    @Option(names = {"-U", "--force-share"}, description = "Open the images even if another process holds them")
    boolean forceShare;

    @Parameters(index = "0", paramLabel = "IMAGE1")
    String image1;

    @Parameters(index = "1", paramLabel = "IMAGE2")
    String image2;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        BlockDevice a = null;
        BlockDevice b = null;
        try {
            String current = image1;
            try {
                a = Devices.openRead(main.resolve(image1), format1, forceShare);
                current = image2;
                b = Devices.openRead(main.resolve(image2), format2, forceShare);
            } catch (Exception e) {
                err.println("q2: " + Errors.couldNotOpen(current, e));
                return 2;
            }
            Comparer.Result r = Comparer.compare(a, b, strict);
            if (r.strictSizeFailure()) {
                print(out, "Strict mode: Image size mismatch!");
                return 1;
            }
            if (r.sizeMismatch()) {
                print(out, "Warning: Image size mismatch!");
            }
            if (!r.identical()) {
                print(out, "Content mismatch at offset " + r.mismatchOffset() + "!");
                return 1;
            }
            print(out, "Images are identical.");
            return 0;
        } catch (Exception e) {
            err.println("q2: Error while comparing: " + Errors.describe(e));
            return 2;
        } finally {
            closeQuietly(a);
            closeQuietly(b);
            out.flush();
        }
    }

    private void print(PrintWriter out, String line) {
        if (!quiet) {
            out.println(line);
        }
    }

    private static void closeQuietly(BlockDevice d) {
        if (d != null) {
            try {
                d.close();
            } catch (Exception e) {
                // nothing more to report
            }
        }
    }
}
