package dev.q2.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;
import java.nio.file.Path;

/**
 * Entry point of the q2 command line: qemu-img-style subcommands for qcow2 images, one class per subcommand.
 *
 * <p>Start-up matters (CI scripts call q2 thousands of times), so the picocli model is built with the programmatic
 * API and only the subcommand that is invoked is registered; every subcommand is registered when none is named, so
 * that usage help and "unmatched argument" errors still see them all. See docs/performance.md.
 */
public final class Main implements java.util.concurrent.Callable<Integer> {
    /** Subcommand names, in the order usage help lists them. */
    private static final String[] SUBCOMMANDS = {CreateCommand.NAME, InfoCommand.NAME, CheckCommand.NAME,
        MapCommand.NAME, ConvertCommand.NAME, CompareCommand.NAME, IoCommand.NAME, BenchCommand.NAME, MeasureCommand.NAME,
        SnapshotCommand.NAME, ResizeCommand.NAME, AmendCommand.NAME, BitmapCommand.NAME, DdCommand.NAME,
        InspectCommand.NAME, RebaseCommand.NAME, CommitCommand.NAME};

    /** picocli's documented switch for leaving out built-in converters (a comma-separated list of regexes). */
    private static final String CONVERTER_EXCLUDES = "picocli.converters.excludes";
    private static final String EXCLUDED_CONVERTERS = "java\\.time\\.Duration,java\\.time\\.Instant,"
            + "java\\.time\\.LocalDate,java\\.time\\.LocalDateTime,java\\.time\\.LocalTime,java\\.time\\.MonthDay,"
            + "java\\.time\\.OffsetDateTime,java\\.time\\.OffsetTime,java\\.time\\.Period,java\\.time\\.Year,"
            + "java\\.time\\.YearMonth,java\\.time\\.ZonedDateTime,java\\.time\\.ZoneId,java\\.time\\.ZoneOffset,"
            + "java\\.sql\\.Time,java\\.sql\\.Connection,java\\.sql\\.Driver,java\\.sql\\.Timestamp,java\\.nio\\.file\\.Path";

    /** picocli's documented switch for not loading Groovy's Closure class. */
    private static final String DISABLE_CLOSURES = "picocli.disable.closures";

    /** Folder that relative file names are resolved against (the process's, except in tests). */
    private final Path workDir;
    private final CommandSpec spec = CommandSpec.wrapWithoutInspection(this);

    private Main(Path workDir) {
        this.workDir = workDir;
        spec.name("q2").versionProvider(new Version());
        spec.usageMessage().description("qcow2 disk-image toolkit, compatible with qemu-img");
        spec.addOption(OptionSpec.builder("-h", "--help").usageHelp(true)
                .description("Show this help message and exit.").build());
        spec.addOption(OptionSpec.builder("-V", "--version").versionHelp(true)
                .description("Print version information and exit.").build());
    }

    /** Resolves a file name the user gave against the working folder. */
    Path resolve(String filename) {
        return workDir.resolve(filename);
    }

    Path workDir() {
        return workDir;
    }

    public static void main(String[] args) {
        if (Boolean.getBoolean("q2.phases")) {
            PhasePrinter.install(); // loaded only then: one class less at every start
        }
        dev.q2.util.Phases.mark("main");
        int rc = run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
        System.out.flush();
        System.err.flush();
        dev.q2.util.Phases.mark("command done");
        // Runtime.exit logs through System.Logger on recent JDKs, which looks for a logging backend on the class
        // path first: several milliseconds of a command that takes a hundred. q2 has no shutdown hooks to run and
        // has flushed its output, so halt is enough.
        Runtime.getRuntime().halt(rc);
    }

    /** Runs q2 with the given streams and returns the exit code (for tests and embedding). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        return run(Path.of(""), args, out, err);
    }

    /** Runs q2 as if started in {@code workDir}. */
    public static int run(Path workDir, String[] args, PrintWriter out, PrintWriter err) {
        if (System.getProperty(CONVERTER_EXCLUDES) == null) {
            // q2's options are strings, numbers and lists of strings; without this, every CommandLine looks up (and
            // so initialises) the java.time and java.sql classes for picocli's optional converters (about 4 ms of
            // every command) and Paths.get by reflection. Each name is a separate entry of letters and escaped
            // dots, which q2's build of picocli compares as a string: a regex here would load java.util.regex and
            // compile the pattern once per converter (pom.xml, patch-picocli-sources).
            System.setProperty(CONVERTER_EXCLUDES, EXCLUDED_CONVERTERS);
        }
        if (System.getProperty(DISABLE_CLOSURES) == null) {
            // picocli's DefaultFactory looks for groovy.lang.Closure in its static initialiser (Groovy closures in
            // annotations; q2 has no annotations). The class is not there, so the class loader opened q2.jar and
            // the two logback jars its manifest names, parsing their central directories in interpreted Java, and
            // threw a ClassNotFoundException: a quarter of the instructions of `q2 info` (docs/performance.md,
            // "Session 7"). picocli's documented property skips the lookup.
            System.setProperty(DISABLE_CLOSURES, "true");
        }
        String invoked = invokedSubcommand(args);
        if (ResizeCommand.NAME.equals(invoked)) {
            args = ResizeCommand.sizeLast(args); // qemu-img reads the size before the options: "-1G" is a size
        }
        CommandLine cl = commandLine(workDir, invoked);
        if (cl.getSubcommands().isEmpty()) {
            Errors.usage(err, "Command not found: " + invoked);
            err.flush();
            return 1;
        }
        // qemu-img takes the last of repeated options (getopt): "-S 4k -S 0", "-O raw -O qcow2", "-c -c"
        cl.setOverwrittenOptionsAllowed(true);
        // qemu-img has no argument files: "@name" is a file name, never a list of arguments read from "name"
        cl.setExpandAtFiles(false);
        cl.setOut(out);
        cl.setErr(err);
        Handlers handlers = new Handlers(err);
        cl.setParameterExceptionHandler(handlers);
        cl.setExecutionExceptionHandler(handlers);
        int rc = cl.execute(args);
        out.flush();
        err.flush();
        return rc;
    }

    /** The command line with every subcommand registered: the model that man pages and completion are made from. */
    static CommandLine fullCommandLine() {
        return commandLine(Path.of(""), null);
    }

    /** The command line with {@code only} registered, or every subcommand when it is null. */
    private static CommandLine commandLine(Path workDir, String only) {
        Main main = new Main(workDir);
        CommandLine cl = new CommandLine(main.spec);
        for (String name : SUBCOMMANDS) {
            if (only == null || only.equals(name)) {
                cl.addSubcommand(name, main.newSubcommand(name));
            }
        }
        return cl;
    }

    /**
     * The subcommand picocli will dispatch to: the first argument that is not an option (q2's own options take no
     * parameters), or null when there is none or "--" comes first.
     */
    private static String invokedSubcommand(String[] args) {
        for (String a : args) {
            if (a.equals("--")) {
                return null;
            }
            if (!a.startsWith("-")) {
                return a;
            }
        }
        return null;
    }

    private CommandSpec newSubcommand(String name) {
        switch (name) {
            case CreateCommand.NAME:
                return new CreateCommand(this).spec();
            case InfoCommand.NAME:
                return new InfoCommand(this).spec();
            case CheckCommand.NAME:
                return new CheckCommand(this).spec();
            case MapCommand.NAME:
                return new MapCommand(this).spec();
            case ConvertCommand.NAME:
                return new ConvertCommand(this).spec();
            case CompareCommand.NAME:
                return new CompareCommand(this).spec();
            case IoCommand.NAME:
                return new IoCommand(this).spec();
            case BenchCommand.NAME:
                return new BenchCommand(this).spec();
            case MeasureCommand.NAME:
                return new MeasureCommand(this).spec();
            case SnapshotCommand.NAME:
                return new SnapshotCommand(this).spec();
            case ResizeCommand.NAME:
                return new ResizeCommand(this).spec();
            case AmendCommand.NAME:
                return new AmendCommand(this).spec();
            case BitmapCommand.NAME:
                return new BitmapCommand(this).spec();
            case DdCommand.NAME:
                return new DdCommand(this).spec();
            case InspectCommand.NAME:
                return new InspectCommand(this).spec();
            case RebaseCommand.NAME:
                return new RebaseCommand(this).spec();
            case CommitCommand.NAME:
                return new CommitCommand(this).spec();
            default:
                throw new IllegalArgumentException(name);
        }
    }

    @Override
    public Integer call() {
        // no subcommand: qemu-img's words and exit code, so that a script's mistake does not pass as success
        return Errors.usage(spec.commandLine().getErr(), "Not enough arguments");
    }

    /** Bad arguments and failed commands: one line on stderr, exit code 1 (a stack trace too with --debug). */
    private static final class Handlers
            implements CommandLine.IParameterExceptionHandler, CommandLine.IExecutionExceptionHandler {
        private final PrintWriter err;

        Handlers(PrintWriter err) {
            this.err = err;
        }

        @Override
        public int handleParseException(ParameterException ex, String[] args) {
            String command = ex.getCommandLine().getCommandName();
            boolean q2Only = command.equals(BenchCommand.NAME) || command.equals(InspectCommand.NAME);
            if (ex instanceof CommandLine.UnmatchedArgumentException u && u.isUnknownOption()
                    && !u.getUnmatched().isEmpty() && !q2Only) {
                // qemu-img's getopt words (convert -s, removed before 7.2, ends here too), naming the word as typed;
                // q2's own commands (bench, inspect) keep their one line
                return Errors.usage(err, "unrecognized option '" + optionWord(u.getUnmatched().get(0), args) + "'");
            }
            err.println("q2: " + ex.getMessage() + " (try 'q2 --help')");
            return 1;
        }

        /**
         * The command-line word an unknown option came in: qemu-img names the whole word ("-cs" for an unknown
         * "s" clustered after "-c"), picocli only the option it did not know.
         */
        private static String optionWord(String unknown, String[] args) {
            for (String a : args) {
                if (a.equals(unknown)) {
                    return a;
                }
            }
            if (unknown.length() == 2 && unknown.charAt(0) == '-' && unknown.charAt(1) != '-') {
                for (String a : args) {
                    if (a.startsWith("-") && !a.startsWith("--") && a.indexOf(unknown.charAt(1), 1) > 0) {
                        return a;
                    }
                }
            }
            return unknown;
        }

        @Override
        public int handleExecutionException(Exception ex, CommandLine commandLine, ParseResult parseResult) {
            return Errors.report(err, Errors.describe(ex), ex);
        }
    }
}
