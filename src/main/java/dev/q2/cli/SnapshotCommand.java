package dev.q2.cli;

import dev.q2.Q2Exception;
import dev.q2.create.Preallocation;
import dev.q2.image.CorruptMetadataException;
import dev.q2.resize.ResizeException;
import dev.q2.resize.Resizer;
import dev.q2.image.Devices;
import dev.q2.probe.FormatProber;
import dev.q2.snapshot.Qcow2Snapshots;
import dev.q2.snapshot.SnapshotException;
import dev.q2.snapshot.SnapshotInfo;
import dev.q2.util.Sizes;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;

/**
 * q2 snapshot: qemu-img snapshot's list (-l), create (-c), apply (-a) and delete (-d) of internal snapshots, with its
 * table, messages and exit codes; the work is done by {@link Qcow2Snapshots}.
 */
final class SnapshotCommand extends Subcommand {
    static final String NAME = "snapshot";

    private final OptionSpec listOpt = Options.flag("List the snapshots", "-l");
    private final OptionSpec applyOpt = Options.repeatable("SNAPSHOT",
            "Apply a snapshot (found by ID, else by name): the disk goes back to it", "-a");
    private final OptionSpec createOpt = Options.repeatable("SNAPSHOT", "Create a snapshot with this name", "-c");
    private final OptionSpec deleteOpt = Options.repeatable("SNAPSHOT", "Delete the snapshot with this name", "-d");
    private final OptionSpec formatOpt = Options.value("FMT",
            "Image format (qcow2 or raw); probed when absent (q2 only: qemu-img 7.2 has no -f here)", "-f");
    private final OptionSpec forceShareOpt =
            Options.forceShare("Open the image even if another process holds it (with -l)");
    private final PositionalParamSpec filesParam = Options.operands("FILENAME");
    private final OptionSpec imageOptsOpt = Options.imageOpts();

    SnapshotCommand(Main main) {
        super(main, NAME);
        // -q and --object are taken as qemu-img takes them: snapshot prints nothing to quieten, and needs no secret
        declare("List, create, apply or delete internal snapshots of a qcow2 image", listOpt, applyOpt, createOpt,
                deleteOpt, formatOpt, Options.repeatable("OBJECTDEF",
                        "An object definition (such as a secret); accepted and not used", "--object"),
                Options.quiet(), forceShareOpt, imageOptsOpt, filesParam);
    }

    private enum Action { NONE, LIST, APPLY, CREATE, DELETE }

    @Override
    public Integer call() {
        ParseResult parsed = parsed();
        PrintWriter out = out();
        PrintWriter err = err();
        List<String> apply = Options.valueOr(applyOpt, List.of());
        List<String> create = Options.valueOr(createOpt, List.of());
        List<String> delete = Options.valueOr(deleteOpt, List.of());
        int actions = (parsed.hasMatchedOption(listOpt) ? 1 : 0) + apply.size() + create.size() + delete.size();
        if (actions > 1) {
            return Errors.usage(err, "Cannot mix '-l', '-a', '-c', '-d'");
        }
        String given = oneFile(filesParam, err);
        dev.q2.block.ImageName imageName = given == null ? null : ImageNames.plain(NAME, given,
                parsed.hasMatchedOption(imageOptsOpt), formatOpt.getValue(), !parsed.hasMatchedOption(listOpt), err);
        if (imageName == null) {
            return 1;
        }
        String filename = imageName.filename();
        String nameFormat = imageName.format(formatOpt.getValue());
        Action action = parsed.hasMatchedOption(listOpt) ? Action.LIST : !apply.isEmpty() ? Action.APPLY
                : !create.isEmpty() ? Action.CREATE : !delete.isEmpty() ? Action.DELETE : Action.NONE;
        String name = switch (action) {
            case APPLY -> apply.get(0);
            case CREATE -> create.get(0);
            case DELETE -> delete.get(0);
            default -> null;
        };
        Path path = main.resolve(filename);
        String format = nameFormat != null ? nameFormat
                : open(filename, err, () -> probe(filename, path, action, err));
        if (format == null) {
            return 1;
        }
        boolean forceShare = parsed.hasMatchedOption(forceShareOpt) || imageName.flag("force-share");
        if (forceShare && action != Action.LIST) {
            return Errors.fail(err, "Could not open '" + filename
                    + "': force-share=on can only be used with read-only images");
        }
        if (format.equals("raw")) {
            return raw(action, name, err);
        }
        if (!format.equals("qcow2")) {
            return Errors.fail(err, "Could not open '" + filename + "': " + (FormatProber.FOREIGN.contains(format)
                    ? FormatProber.cannotRead(format) : "Unknown driver '" + format + "'"));
        }
        Qcow2Snapshots snaps;
        try {
            snaps = Qcow2Snapshots.open(path, action != Action.LIST, forceShare, main.workDir(), err);
        } catch (Exception e) {
            return Errors.report(err, openFailure(filename, path, e), e);
        }
        if (action == Action.APPLY) {
            // a snapshot of another disk size: QEMU truncates the disk to its size first, then loads it
            long size = snaps.sizeToApply(name);
            if (size >= 0) {
                try {
                    snaps.close();
                    try (Resizer.Open r = Resizer.open(path, "qcow2", err)) {
                        r.resize(size, Preallocation.OFF);
                    } catch (ResizeException e) {
                        err.println("q2: " + e.getMessage());
                        return Errors.fail(err, "Could not apply snapshot '" + name + "': Failed to load snapshot: "
                                + (e.category() == Q2Exception.Category.INVALID_ARGUMENT ? "Invalid argument"
                                : "Operation not supported"));
                    }
                    snaps = Qcow2Snapshots.open(path, true, false, main.workDir(), err);
                } catch (Exception e) {
                    return Errors.report(err, e);
                }
            }
        }
        int rc;
        try (Qcow2Snapshots opened = snaps) {
            rc = switch (action) {
                case LIST -> {
                    print(opened.list(), out);
                    yield 0;
                }
                case CREATE -> attempt("create", name, err, e -> "-" + e.errno().code + " (" + e.errno().text + ")",
                        () -> {
                            Instant now = Instant.now();
                            opened.create(name, now.getEpochSecond(), (now.getNano() / 1000) * 1000L);
                        });
                case APPLY -> attempt("apply", name, err, SnapshotException::getMessage, () -> opened.apply(name));
                case DELETE -> attempt("delete", name, err, SnapshotException::getMessage, () -> opened.delete(name));
                default -> 0; // qemu-img opens the image for writing and closes it again
            };
        } catch (Exception e) {
            if (e instanceof CorruptMetadataException c && c.firstReport()) {
                err.println(c.qemuReport());
            }
            return Errors.report(err, e);
        }
        out.flush();
        return rc;
    }

    /**
     * The probed format; a raw guess warns, as QEMU's block layer does when it opens one for writing (not for -l;
     * apply falls back to the file below and opens the raw driver again: the warning comes twice).
     */
    private static String probe(String filename, Path path, Action action, PrintWriter err)
            throws java.io.IOException {
        String format = Devices.probe(path);
        if (format.equals("raw") && action != Action.LIST) {
            for (int i = action == Action.APPLY ? 2 : 1; i > 0; i--) {
                err.println(Errors.rawProbeWarning(filename));
            }
        }
        return format;
    }

    /** One change to the snapshot table. */
    private interface Change {
        void run() throws java.io.IOException;
    }

    /**
     * Makes {@code change}; when the library refuses it, prints qemu-img's "Could not VERB snapshot 'NAME': REASON"
     * (after the driver's own line, if any) and returns 1.
     */
    private static int attempt(String verb, String name, PrintWriter err,
                               java.util.function.Function<SnapshotException, String> reason, Change change)
            throws java.io.IOException {
        try {
            change.run();
            return 0;
        } catch (SnapshotException e) {
            if (e.preface() != null) {
                err.println(e.preface().startsWith("qcow2: ") ? e.preface() : "q2: " + e.preface());
            }
            return Errors.fail(err, "Could not " + verb + " snapshot '" + name + "': " + reason.apply(e));
        }
    }

    /**
     * The image opened as far as its format goes but something failed: what failed may lie below it (a backing
     * file), worded as the block graph's chain reader words it, as qemu-img does.
     */
    private String openFailure(String filename, Path path, Exception e) {
        String m = e.getMessage();
        if (m != null && (m.startsWith("Could not open backing file") || m.startsWith("Backing file"))) {
            Exception below = chainFailure(filename, "qcow2");
            if (below != null) {
                return Errors.couldNotOpen(filename, below);
            }
        }
        return Errors.imageOpenFailure(filename, path, e);
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
