package dev.q2.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.nio.file.Path;

/** Entry point of the q2 command line: qemu-img-style subcommands for qcow2 images. */
@Command(name = "q2", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "qcow2 disk-image toolkit, compatible with qemu-img",
        subcommands = {CreateCommand.class, InfoCommand.class, CheckCommand.class, MapCommand.class,
            ConvertCommand.class, CompareCommand.class, IoCommand.class, BenchCommand.class})
public final class Main implements Runnable {
    /** Folder that relative file names are resolved against (the process's, except in tests). */
    private Path workDir = Path.of("");

    /** Resolves a file name the user gave against the working folder. */
    Path resolve(String filename) {
        return workDir.resolve(filename);
    }

    Path workDir() {
        return workDir;
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs q2 with the given streams and returns the exit code (for tests and embedding). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        return run(Path.of(""), args, out, err);
    }

    /** Runs q2 as if started in {@code workDir}. */
    public static int run(Path workDir, String[] args, PrintWriter out, PrintWriter err) {
        Main main = new Main();
        main.workDir = workDir;
        CommandLine cl = new CommandLine(main);
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
