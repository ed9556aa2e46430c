package dev.q2.cli;

import dev.q2.image.CorruptMetadataException;
import dev.q2.image.Devices;
import dev.q2.probe.FormatProber;
import dev.q2.snapshot.Qcow2Snapshots;
import dev.q2.snapshot.SnapshotException;
import dev.q2.snapshot.SnapshotInfo;
import dev.q2.util.Sizes;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * q2 snapshot: qemu-img snapshot's list (-l), create (-c), apply (-a) and delete (-d) of internal snapshots, with its
 * table, messages and exit codes; the work is done by {@link Qcow2Snapshots}.
 */
final class SnapshotCommand implements Callable<Integer> {
    static final String NAME = "snapshot";

    private final Main main;
    private final CommandSpec spec = CommandSpec.wrapWithoutInspection(this);
    private final CommonOptions common = new CommonOptions();
    private final OptionSpec listOpt = Options.flag("List the snapshots", "-l");
    private final OptionSpec applyOpt = Options.repeatable("SNAPSHOT",
            "Apply a snapshot (found by ID, else by name): the disk goes back to it", "-a");
    private final OptionSpec createOpt = Options.repeatable("SNAPSHOT", "Create a snapshot with this name", "-c");
    private final OptionSpec deleteOpt = Options.repeatable("SNAPSHOT", "Delete the snapshot with this name", "-d");
    private final OptionSpec formatOpt = Options.value("FMT",
            "Image format (qcow2 or raw); probed when absent (q2 only: qemu-img 7.2 has no -f here)", "-f");
    private final OptionSpec objectOpt = Options.repeatable("OBJECTDEF",
            "An object definition (such as a secret); accepted and not used", "--object");
    private final OptionSpec quietOpt = Options.flag("Quiet", "-q");
    private final OptionSpec forceShareOpt =
            Options.flag("Open the image even if another process holds it (with -l)", "-U", "--force-share");
    private final PositionalParamSpec filesParam = PositionalParamSpec.builder().index("0..*").arity("0..*")
            .type(List.class).auxiliaryTypes(String.class).paramLabel("FILENAME").build();

    SnapshotCommand(Main main) {
        this.main = main;
        spec.name(NAME);
        spec.usageMessage().description("List, create, apply or delete internal snapshots of a qcow2 image")
                .sortOptions(false);
        common.addTo(spec);
        spec.addOption(listOpt);
        spec.addOption(applyOpt);
        spec.addOption(createOpt);
        spec.addOption(deleteOpt);
        spec.addOption(formatOpt);
        spec.addOption(objectOpt);
        spec.addOption(quietOpt);
        spec.addOption(forceShareOpt);
        spec.addPositional(filesParam);
    }

    CommandSpec spec() {
        return spec;
    }

    private enum Action { NONE, LIST, APPLY, CREATE, DELETE }

    @Override
    public Integer call() {
        ParseResult parsed = spec.commandLine().getParseResult();
        common.apply(parsed);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<String> apply = Options.valueOr(applyOpt, List.of());
        List<String> create = Options.valueOr(createOpt, List.of());
        List<String> delete = Options.valueOr(deleteOpt, List.of());
        int actions = (parsed.hasMatchedOption(listOpt) ? 1 : 0) + apply.size() + create.size() + delete.size();
        if (actions > 1) {
            err.println("q2: Cannot mix '-l', '-a', '-c', '-d'\nTry 'q2 --help' for more information");
            return 1;
        }
        List<String> files = filesParam.getValue() != null ? filesParam.getValue() : new ArrayList<>();
        if (files.size() != 1) {
            err.println("q2: Expecting one image file name\nTry 'q2 --help' for more information");
            return 1;
        }
        Action action = parsed.hasMatchedOption(listOpt) ? Action.LIST : !apply.isEmpty() ? Action.APPLY
                : !create.isEmpty() ? Action.CREATE : !delete.isEmpty() ? Action.DELETE : Action.NONE;
        String name = switch (action) {
            case APPLY -> apply.get(0);
            case CREATE -> create.get(0);
            case DELETE -> delete.get(0);
            default -> null;
        };
        String filename = files.get(0);
        Path path = main.resolve(filename);
        String format = formatOpt.getValue();
        try {
            if (format == null) {
                format = Devices.probe(path);
                if (format.equals("raw") && action != Action.LIST) { // (a guess that restricts writes: RW opens only)
                    // apply falls back to the file below and opens the raw driver again: the warning comes twice
                    for (int i = action == Action.APPLY ? 2 : 1; i > 0; i--) {
                        err.println("WARNING: Image format was not specified for '" + filename
                                + "' and probing guessed raw.\n"
                                + "         Automatically detecting the format is dangerous for raw images, write"
                                + " operations on block 0 will be restricted.\n"
                                + "         Specify the 'raw' format explicitly to remove the restrictions.");
                    }
                }
            }
        } catch (Exception e) {
            err.println("q2: " + Errors.imageOpenFailure(filename, path, e));
            return 1;
        }
        if (parsed.hasMatchedOption(forceShareOpt) && action != Action.LIST) {
            err.println("q2: Could not open '" + filename + "': force-share=on can only be used with read-only images");
            return 1;
        }
        if (format.equals("raw")) {
            return raw(action, name, err);
        }
        if (!format.equals("qcow2")) {
            err.println("q2: Could not open '" + filename + "': " + (FormatProber.FOREIGN.contains(format)
                    ? FormatProber.cannotRead(format) : "Unknown driver '" + format + "'"));
            return 1;
        }
        Qcow2Snapshots snaps;
        dev.q2.util.Phases.mark("snapshot: arguments");
        try {
            snaps = Qcow2Snapshots.open(path, action != Action.LIST, parsed.hasMatchedOption(forceShareOpt),
                    main.workDir(), err);
        } catch (Exception e) {
            err.println("q2: " + openFailure(filename, path, e));
            debug(e, err);
            return 1;
        }
        int rc = 0;
        dev.q2.util.Phases.mark("snapshot: open");
        try (snaps) {
            switch (action) {
                case LIST -> print(snaps.list(), out);
                case CREATE -> {
                    Instant now = Instant.now();
                    try {
                        snaps.create(name, now.getEpochSecond(), (now.getNano() / 1000) * 1000L);
                    } catch (SnapshotException e) {
                        preface(e, err);
                        err.println("q2: Could not create snapshot '" + name + "': -" + e.errno().code + " ("
                                + e.errno().text + ")");
                        rc = 1;
                    }
                }
                case APPLY -> {
                    try {
                        snaps.apply(name);
                    } catch (SnapshotException e) {
                        preface(e, err);
                        err.println("q2: Could not apply snapshot '" + name + "': " + e.getMessage());
                        rc = 1;
                    }
                }
                case DELETE -> {
                    try {
                        snaps.delete(name);
                    } catch (SnapshotException e) {
                        preface(e, err);
                        err.println("q2: Could not delete snapshot '" + name + "': " + e.getMessage());
                        rc = 1;
                    }
                }
                default -> {
                    // qemu-img opens the image for writing and closes it again
                }
            }
            dev.q2.util.Phases.mark("snapshot: " + action);
        } catch (Exception e) {
            if (e instanceof CorruptMetadataException c && c.firstReport()) {
                err.println(c.qemuReport());
            }
            err.println("q2: " + Errors.describe(e));
            debug(e, err);
            return 1;
        }
        out.flush();
        return rc;
    }

    /**
     * The image opened as far as its format goes but something failed: what failed may lie below it (a backing
     * file), worded as the block graph's chain reader words it, as qemu-img does.
     */
    private String openFailure(String filename, Path path, Exception e) {
        String m = e.getMessage();
        if (m == null || !(m.startsWith("Could not open backing file") || m.startsWith("Backing file"))) {
            return Errors.imageOpenFailure(filename, path, e);
        }
        try (dev.q2.block.BlockGraph chain = dev.q2.block.BlockGraph.open(main.workDir(), filename, "qcow2", true)) {
            chain.length();
        } catch (Exception below) {
            return Errors.couldNotOpen(filename, below);
        }
        return Errors.imageOpenFailure(filename, path, e);
    }

    private static void preface(SnapshotException e, PrintWriter err) {
        if (e.preface() != null) {
            err.println(e.preface().startsWith("qcow2: ") ? e.preface() : "q2: " + e.preface());
        }
    }

    private static void debug(Exception e, PrintWriter err) {
        if (Logging.debugEnabled()) {
            e.printStackTrace(err);
        }
    }

    /** A raw image: no snapshots, in the words QEMU's block layer uses when the driver has none. */
    private static int raw(Action action, String name, PrintWriter err) {
        switch (action) {
            case CREATE -> err.println("q2: Could not create snapshot '" + name + "': -95 (Operation not supported)");
            case APPLY -> err.println("q2: Could not apply snapshot '" + name
                    + "': Block driver does not support snapshots");
            case DELETE -> err.println("q2: Could not delete snapshot '" + name + "': snapshot not found");
            default -> {
                return 0;
            }
        }
        return 1;
    }

    /** dump_snapshots and bdrv_snapshot_dump: nothing without snapshots, else the table (dates in local time). */
    static void print(List<SnapshotInfo> snapshots, PrintWriter out) {
        if (snapshots.isEmpty()) {
            return;
        }
        DateTimeFormatter date = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");
        StringBuilder sb = new StringBuilder("Snapshot list:\n");
        sb.append(String.format("%-10s%-17s%8s%20s%13s%11s", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK", "ICOUNT"))
                .append('\n');
        for (SnapshotInfo s : snapshots) {
            long clock = s.vmClockNsec();
            long secs = Long.divideUnsigned(clock, 1_000_000_000L);
            String clockText = String.format("%02d:%02d:%02d.%03d", (int) (secs / 3600), (int) ((secs / 60) % 60),
                    (int) (secs % 60), (int) Long.remainderUnsigned(Long.divideUnsigned(clock, 1_000_000L), 1000));
            String when = date.format(Instant.ofEpochSecond(s.dateSec()).atZone(ZoneId.systemDefault()));
            sb.append(String.format("%-9s %-16s %8s%20s%13s%11s", s.id(), s.name(), Sizes.humanSize(s.vmStateSize()),
                    when, clockText, s.icount() == -1 ? "" : Long.toString(s.icount()))).append('\n');
        }
        out.print(sb);
    }
}
