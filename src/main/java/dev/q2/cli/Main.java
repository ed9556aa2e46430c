package dev.q2.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/** Entry point of the q2 command line: qemu-img-style subcommands for qcow2 images. */
@Command(name = "q2", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "qcow2 disk-image toolkit, compatible with qemu-img",
        subcommands = {CreateCommand.class, InfoCommand.class})
public final class Main implements Runnable {

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs q2 with the given streams and returns the exit code (for tests and embedding). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println("q2: " + ex.getMessage() + " (try 'q2 --help')");
            return 1;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            err.println("q2: " + Errors.describe(ex));
            if (Logging.debugEnabled()) {
                ex.printStackTrace(err);
            }
            return 1;
        });
        int rc = cl.execute(args);
        out.flush();
        err.flush();
        return rc;
    }

    @Override
    public void run() {
        CommandLine.usage(this, System.err);
    }
}
