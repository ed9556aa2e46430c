package dev.q2.cli;

import dev.q2.guestio.IoScript;
import dev.q2.image.DiskOptions;
import dev.q2.image.Qcow2Disk;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** q2 io: qemu-io's read/write/discard/flush commands on a qcow2 image, from -c options or stdin. */
@Command(name = "io", description = "Run qemu-io style commands (read, write, discard, flush) on an image",
        sortOptions = false)
public final class IoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @ParentCommand
    Main main;

    @Option(names = "-f", paramLabel = "FMT", description = "Image format (only qcow2)")
    String format = "qcow2";

    @Option(names = "-c", paramLabel = "CMD", description = "A command to run; may be repeated")
    List<String> commands = new ArrayList<>();

    @Option(names = {"-r", "--read-only"}, description = "Open read-only")
    boolean readOnly;

    @Option(names = {"-U", "--force-share"}, description = "Open even if another process holds it (read-only)")
    boolean forceShare;

    @Parameters(index = "0", paramLabel = "FILENAME")
    String filename;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (!format.equals("qcow2")) {
            err.println("q2: q2 io works on qcow2 images only");
            return 1;
        }
        DiskOptions opt = readOnly || forceShare ? DiskOptions.readOnly().withForceShare(forceShare)
                : DiskOptions.readWrite();
        Qcow2Disk disk;
        try {
            disk = Qcow2Disk.open(main.resolve(filename), opt);
        } catch (Exception e) {
            err.println("q2: " + Errors.couldNotOpen(filename, e));
            return 1;
        }
        try (disk) {
            IoScript script = new IoScript(disk, out);
            if (commands.isEmpty()) {
                BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    script.run(line);
                }
            } else {
                for (String c : commands) {
                    script.run(c);
                }
            }
            disk.flush();
            out.flush();
            return script.failed() ? 1 : 0;
        } catch (Exception e) {
            err.println("q2: " + Errors.describe(e));
            if (Logging.debugEnabled()) {
                e.printStackTrace(err);
            }
            return 1;
        }
    }
}
