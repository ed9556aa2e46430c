package dev.q2.cli;

import dev.q2.create.CreateException;
import dev.q2.create.CreateOptions;
import dev.q2.create.CreatePlanner;
import dev.q2.block.BlockGraph;
import dev.q2.measure.Measure;
import dev.q2.measure.MeasureException;
import dev.q2.measure.MeasureResult;
import dev.q2.util.QDict;
import dev.q2.util.QJson;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * q2 measure: qemu-img measure's "required size", "fully allocated size" and "bitmaps size" for a qcow2 or raw
 * target, from a size or from an image, with its refusals in its words and order; then the L2 cache the planned
 * qcow2 image needs (q2's addition: lines of their own after qemu-img's, and "l2-cache" in JSON).
 */
final class MeasureCommand extends Subcommand {
    static final String NAME = "measure";

    /** QEMU 7.2 drivers that can create images but not measure them (qemu-img: "does not support size measurement"). */
    private static final Set<String> CREATE_ONLY = Set.of("file", "gluster", "host_cdrom", "host_device", "iscsi",
            "nbd", "nfs", "nvme", "parallels", "qcow", "qed", "rbd", "ssh", "vdi", "vhdx", "vmdk", "vpc");
    /** QEMU 7.2 drivers without image creation (qemu-img: "does not support image creation"). */
    private static final Set<String> NO_CREATE = Set.of("blkdebug", "blklogwrites", "blkverify", "bochs", "cloop",
            "compress", "copy-before-write", "copy-on-read", "dmg", "ftp", "ftps", "http", "https", "null-aio",
            "null-co", "preallocate", "quorum", "replication", "snapshot-access", "throttle", "vvfat");

    private final OptionSpec output = Options.outputs();
    private final OptionSpec format =
            Options.value("FMT", "Format of FILE (qcow2 or raw); probed when absent", "-f");
    private final OptionSpec outFormat =
            Options.value("OUTPUT_FMT", "Format of the image to measure for: qcow2 or raw (default raw)", "-O");
    private final OptionSpec optionsOption = Options.repeatable("OPTIONS",
            "Comma-separated create options of the output format (as qemu-img create -o)", "-o");
    private final OptionSpec snapshot = Options.repeatable("SNAPSHOT",
            "Measure this internal snapshot of FILE (ID or name, or snapshot.id=...,snapshot.name=...)", "-l");
    private final OptionSpec size = Options.repeatable("SIZE", "Virtual size to measure for, without FILE", "--size");
    private final OptionSpec imageOpts = Options.imageOpts();
    private final OptionSpec forceShare = Options.forceShare();
    private final OptionSpec objectOption = Options.repeatable("OBJECT",
            "Not supported: q2 takes no secrets", "--object");
    private final PositionalParamSpec filenames = PositionalParamSpec.builder().index("0..*").arity("0..*")
            .type(List.class).auxiliaryTypes(String.class).paramLabel("FILE").build();

    MeasureCommand(Main main) {
        super(main, NAME);
        declare("How large a new image must be, for a size or for an image's contents, and the L2 cache it will"
                + " need", output, format, outFormat, optionsOption, snapshot, size, forceShare, objectOption,
                imageOpts, filenames);
    }

    @Override
    public Integer call() {
        ParseResult parsed = parsed();
        PrintWriter out = out();
        PrintWriter err = err();
        try {
            return measure(parsed, out, err);
        } catch (Refusal r) {
            err.print(r.stderr);
            err.flush();
            return 1;
        }
    }

    private int measure(ParseResult parsed, PrintWriter out, PrintWriter err) throws Refusal {
        // qemu-img reports bad option values as getopt meets them: walk the options in the order given
        boolean json = false;
        Long imgSize = null;
        List<String> optionTexts = new ArrayList<>();
        SnapshotParam snapshotParam = new SnapshotParam();
        List<String> warnings = new ArrayList<>();
        int[] seen = new int[4];
        for (ArgSpec a : parsed.matchedArgs()) {
            if (a == output) {
                String v = this.<String>nth(output, seen[0]++);
                if (!v.equals("json") && !v.equals("human")) {
                    throw new Refusal("--output must be used with human or json as argument.");
                }
                json = v.equals("json");
            } else if (a == size) {
                imgSize = parseSize(nth(size, seen[1]++), err);
            } else if (a == optionsOption) {
                String v = nth(optionsOption, seen[2]++);
                if (!validOptionList(v)) {
                    throw new Refusal("Invalid option list: " + v);
                }
                optionTexts.add(v);
            } else if (a == snapshot) {
                try {
                    snapshotParam.add(nth(snapshot, seen[3]++), warnings);
                } catch (SnapshotParam.Refused e) {
                    throw new Refusal(e.lines());
                }
                for (String w : warnings) {
                    err.println(w);
                }
                warnings.clear();
            }
        }
        if (parsed.hasMatchedOption(objectOption)) {
            throw new Refusal("--object is not supported: q2 takes no secrets");
        }
        List<String> files = filenames.getValue() == null ? List.of() : filenames.getValue();
        if (files.size() > 1) {
            throw new Refusal("At most one filename argument is allowed.");
        }
        String filename = files.isEmpty() ? null : files.get(0);
        if (filename == null && (format.getValue() != null || snapshotParam.given()
                || parsed.hasMatchedOption(imageOpts))) {
            throw new Refusal("--image-opts, -f, and -l require a filename argument.");
        }
        if (filename != null && imgSize != null) {
            throw new Refusal("--size N cannot be used together with a filename.");
        }
        if (filename == null && imgSize == null) {
            throw new Refusal("Either --size N or one filename must be specified.");
        }
        BlockGraph source = null;
        try {
            if (filename != null) {
                source = open(filename, parsed.hasMatchedOption(imageOpts), parsed.hasMatchedOption(forceShare));
                if (snapshotParam.given()) {
                    try {
                        snapshotParam.load(source);
                    } catch (Exception e) {
                        throw new Refusal("Failed to load snapshot: " + Errors.describe(e));
                    }
                }
            }
            MeasureResult r = measure(Options.valueOr(outFormat, "raw"), optionTexts, imgSize, source);
            out.print(json ? json(r) : human(r));
            out.flush();
            return 0;
        } finally {
            if (source != null) {
                try {
                    source.close();
                } catch (java.io.IOException e) {
                    // read-only: nothing to lose
                }
            }
        }
    }

    @SuppressWarnings("unchecked")
    private <T> T nth(OptionSpec o, int i) {
        return ((List<T>) o.getValue()).get(i);
    }

    private static long parseSize(String arg, PrintWriter err) throws Refusal {
        List<String> warnings = new ArrayList<>();
        try {
            long v = CreatePlanner.parseSizeArgument(arg, warnings);
            for (String w : warnings) {
                err.println("q2: " + w);
            }
            return v;
        } catch (CreateException e) {
            String m = e.getMessage();
            // qemu-img's cvtnum says this in two error_report calls
            int split = m.indexOf(" suffixes for ");
            throw split < 0 ? new Refusal(m) : new Refusal(m.substring(0, split + 13), m.substring(split + 14));
        }
    }

    /** qemu-img's check of an -o argument: not empty, no leading comma, no unpaired trailing comma. */
    private static boolean validOptionList(String v) {
        if (v.isEmpty() || v.charAt(0) == ',') {
            return false;
        }
        int i = v.length();
        while (i > 0 && v.charAt(i - 1) == ',') {
            i--;
        }
        return (v.length() - i) % 2 == 0;
    }

    private BlockGraph open(String filename, boolean opts, boolean share) throws Refusal {
        java.io.StringWriter refusal = new java.io.StringWriter();
        dev.q2.block.ImageName name = ImageNames.plain(NAME, filename, opts, format.getValue(), false,
                new PrintWriter(refusal, true));
        if (name == null) {
            throw new Refusal(refusal.toString().replaceFirst("^q2: ", "").trim());
        }
        try {
            return BlockGraph.open(main.workDir(), name.filename(), name.format(format.getValue()),
                    share || name.flag("force-share"));
        } catch (Exception e) {
            throw new Refusal(Errors.couldNotOpen(filename, e));
        }
    }

    private static MeasureResult measure(String fmt, List<String> optionTexts, Long imgSize, BlockGraph source)
            throws Refusal {
        if (!Measure.FORMATS.contains(fmt) && !CREATE_ONLY.contains(fmt) && !fmt.equals("luks")) {
            throw new Refusal(NO_CREATE.contains(fmt) ? "Format driver '" + fmt + "' does not support image creation"
                    : "Unknown file format '" + fmt + "'");
        }
        if (fmt.equals("luks")) {
            // QEMU needs the secret to size the LUKS header; q2 takes no secrets (no --object)
            String secret = null;
            for (String t : optionTexts) {
                for (String item : t.split(",")) {
                    if (item.startsWith("key-secret=")) {
                        secret = item.substring("key-secret=".length());
                    }
                }
            }
            throw new Refusal(secret == null ? "Parameter 'key-secret' is required for cipher"
                    : "No secret with id '" + secret + "'");
        }
        if (CREATE_ONLY.contains(fmt)) {
            throw new Refusal("Block driver '" + fmt + "' does not support size measurement");
        }
        CreateOptions opts = new CreateOptions();
        try {
            for (String t : optionTexts) {
                Measure.parseOptions(fmt, t, opts);
            }
        } catch (CreateException e) {
            throw new Refusal(e.getMessage(), "Invalid options for file format '" + fmt + "'");
        }
        if (imgSize != null) {
            opts.set("size", Long.toString(imgSize));
        }
        try {
            return Measure.measure(fmt, opts, source);
        } catch (MeasureException e) {
            throw new Refusal(e.getMessage());
        } catch (java.io.IOException e) {
            throw new Refusal("Unable to get block status: " + Errors.describe(e));
        }
    }

    static String human(MeasureResult r) {
        StringBuilder sb = new StringBuilder();
        sb.append("required size: ").append(Long.toUnsignedString(r.required())).append('\n');
        sb.append("fully allocated size: ").append(Long.toUnsignedString(r.fullyAllocated())).append('\n');
        if (r.bitmaps() != null) {
            sb.append("bitmaps size: ").append(Long.toUnsignedString(r.bitmaps())).append('\n');
        }
        if (r.l2Cache() != null) {
            L2CacheReport.human(sb, r.l2Cache(), -1, null);
        }
        return sb.toString();
    }

    static String json(MeasureResult r) {
        QDict d = new QDict();
        // QAPI's "int": past 2^63 the JSON shows the 64 bits as a signed number (human output: unsigned)
        d.put("required", r.required());
        d.put("fully-allocated", r.fullyAllocated());
        d.put("bitmaps", r.bitmaps());
        if (r.l2Cache() != null) {
            d.putTrailing("l2-cache", L2CacheReport.json(r.l2Cache(), -1));
        }
        return QJson.pretty(d) + "\n";
    }

    /**
     * A refusal, exit code 1: one error_report per message, each "q2: " and its first line (further lines of a
     * message, such as QemuOpts' hints, come as qemu-img prints them, without the program name).
     */
    private static final class Refusal extends Exception {
        final String stderr;

        /** Lines to print as they are (program name included). */
        Refusal(List<String> lines) {
            super(lines.get(lines.size() - 1));
            this.stderr = String.join("\n", lines) + "\n";
        }

        Refusal(String... messages) {
            super(messages[0]);
            StringBuilder sb = new StringBuilder();
            for (String m : messages) {
                sb.append("q2: ").append(m).append('\n');
            }
            this.stderr = sb.toString();
        }
    }
}
