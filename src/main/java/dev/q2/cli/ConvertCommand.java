package dev.q2.cli;

import dev.q2.convert.ConvertException;
import dev.q2.convert.Converter;
import dev.q2.convert.RawTarget;
import dev.q2.create.CreateException;
import dev.q2.create.CreateOptions;
import dev.q2.create.CreatePlanner;
import dev.q2.create.CreateRequest;
import dev.q2.create.Qcow2Creator;
import dev.q2.block.BlockGraph;
import dev.q2.io.QemuLock;
import dev.q2.image.ImageException;
import dev.q2.image.DiskOptions;
import dev.q2.image.Qcow2Disk;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleConsumer;

/**
 * q2 convert: qemu-img convert into raw or qcow2, sparse, optionally compressed, with progress; qcow2 targets take
 * any create option, including a backing file (-B/-F or -o backing_file) and an external data file; with -n an
 * existing raw file (or block device) or qcow2 image is written in place. -S sets the sparse size, -t the target
 * cache mode (durability); -T, -m and -W are checked and accepted. Several sources are concatenated into one
 * target ({@link dev.q2.convert.Sources}); -l reads the (first) source's internal snapshot ({@link SnapshotParam}).
 */
final class ConvertCommand extends Subcommand {
    static final String NAME = "convert";

    private final OptionSpec sourceFormatOpt =
            Options.value("FMT", "Source format (qcow2 or raw); probed when absent", "-f");
    private final OptionSpec targetFormatOpt = Options.value("FMT", "Target format: raw (default) or qcow2", "-O");
    private final OptionSpec optionsOpt = Options.repeatable("OPTIONS", "qcow2 create options for the target", "-o");
    private final OptionSpec backingOpt =
            Options.value("BACKING_FILE", "Create the qcow2 target on top of this backing file; copy only what"
                    + " the source's top layer holds", "-B");
    private final OptionSpec backingFormatOpt = Options.value("BACKING_FMT", "Format of the backing file", "-F");
    private final OptionSpec noCreateOpt =
            Options.flag("Do not create the target: write into the existing image (raw file or device, or qcow2)",
                    "-n");
    private final OptionSpec targetIsZeroOpt =
            Options.flag("With -n: the target reads as zeros already, so zeros need no writes", "--target-is-zero");
    private final OptionSpec compressOpt = Options.flag("Compress the target's data clusters (qcow2)", "-c");
    private final OptionSpec sparseOpt =
            Options.value("SIZE", "Zero runs inside data of at least SIZE bytes stay holes (default 4k); 0 writes"
                    + " everything, so the target is fully allocated", "-S");
    private final OptionSpec cacheOpt =
            Options.value("CACHE", "Target cache mode: none, writeback, writethrough, directsync or unsafe"
                    + " (default); all but unsafe flush the target before exiting", "-t");
    private final OptionSpec srcCacheOpt =
            Options.value("SRC_CACHE", "Source cache mode (validated; reads are the same)", "-T");
    private final OptionSpec coroutinesOpt =
            Options.value("NUM", "Parallel requests, 1 to 16 (validated; q2 copies in order)", "-m");
    private final OptionSpec progressOpt = Options.progress();
    private final OptionSpec quietOpt = Options.quiet();
    private final OptionSpec forceShareOpt =
            Options.forceShare("Open the source even if another process holds it");
    private final OptionSpec bitmapsOpt = Options.flag("Copy the source's persistent bitmaps (qcow2 target)",
            "--bitmaps");
    private final OptionSpec skipBrokenOpt = Options.flag("With --bitmaps: skip inconsistent bitmaps with a warning",
            "--skip-broken-bitmaps");
    private final OptionSpec snapshotOpt = Options.repeatable("SNAPSHOT", "Read the (first) source's internal"
            + " snapshot: its ID or name, or snapshot.id=ID,snapshot.name=NAME", "-l");
    /** SOURCE... TARGET: several sources are concatenated into the target. */
    private final PositionalParamSpec filesParam = Options.operands("FILE");
    private final OptionSpec objectOpt = Options.repeatable("OBJECT",
            "A secret for encrypt.key-secret: secret,id=ID,data=DATA|file=PATH[,format=raw|base64]", "--object");

    String sourceFormat;
    private final OptionSpec imageOptsOpt = Options.imageOpts();
    String targetFormat = "raw";
    List<String> options = new ArrayList<>();
    String backingFile;
    String backingFormat;
    boolean noCreate;
    boolean targetIsZero;
    boolean compress;
    /** -S in 512-byte sectors. */
    int minSparse = Converter.DEFAULT_MIN_SPARSE;
    /** -t, checked after the target is created (as qemu-img does); null when valid. */
    String badCache;
    /** Any target cache mode but unsafe: fsync the target before exiting. */
    boolean durable;
    /** -p without -q: qemu-img's progress line on stdout. */
    boolean progress;
    boolean forceShare;
    /** The source images, concatenated in this order (qemu-img convert A B C T). */
    List<String> sources;
    /** The first source: the one whose snapshot (-l) and bitmaps (--bitmaps) are used. */
    String source;
    String target;
    /** -l, or null. */
    SnapshotParam snapshot;
    /** qemu-img's progress line (draws nothing without -p). */
    private QemuProgress bar;
    /** --bitmaps and --skip-broken-bitmaps (dev.q2.bitmap.BitmapCopier). */
    boolean bitmaps;
    boolean skipBroken;

    ConvertCommand(Main main) {
        super(main, NAME);
        declare("Convert an image to raw or qcow2", sourceFormatOpt, targetFormatOpt, optionsOpt, backingOpt,
                backingFormatOpt, noCreateOpt, targetIsZeroOpt, compressOpt, sparseOpt, cacheOpt, srcCacheOpt,
                coroutinesOpt, Options.flag("Allow out-of-order writes (accepted; q2 writes in order)", "-W"),
                progressOpt, quietOpt, forceShareOpt, bitmapsOpt, skipBrokenOpt, snapshotOpt, imageOptsOpt, objectOpt,
                filesParam);
    }

    @Override
    public Integer call() throws Exception {
        ParseResult parsed = parsed();
        sourceFormat = sourceFormatOpt.getValue();
        targetFormat = Options.valueOr(targetFormatOpt, targetFormat);
        options = Options.valueOr(optionsOpt, options);
        backingFile = backingOpt.getValue();
        backingFormat = backingFormatOpt.getValue();
        noCreate = parsed.hasMatchedOption(noCreateOpt);
        targetIsZero = parsed.hasMatchedOption(targetIsZeroOpt);
        compress = parsed.hasMatchedOption(compressOpt);
        progress = parsed.hasMatchedOption(progressOpt) && !parsed.hasMatchedOption(quietOpt);
        forceShare = parsed.hasMatchedOption(forceShareOpt);
        List<String> files = Options.valueOr(filesParam, List.of());
        PrintWriter out = out();
        PrintWriter err = err();
        if (!readObjects(objectOpt, err)) { // objects first, as in qemu-img
            return 1;
        }
        // the checks run in qemu-img convert's order, so the first error is the one qemu-img reports: -S and -m
        // while the arguments are read, in their order
        for (picocli.CommandLine.Model.ArgSpec a : parsed.matchedArgs()) {
            if (a == sparseOpt && !parseSparse(sparseOpt.getValue(), err)) {
                return 1;
            }
            if (a == coroutinesOpt && !validCoroutines(coroutinesOpt.getValue())) {
                return Errors.fail(err,
                        "Invalid number of coroutines. Allowed number of coroutines is between 1 and 16");
            }
            if (a == snapshotOpt && !addSnapshot(err)) {
                return 1;
            }
        }
        bitmaps = parsed.hasMatchedOption(bitmapsOpt);
        skipBroken = parsed.hasMatchedOption(skipBrokenOpt);
        if (skipBroken && !bitmaps) {
            return Errors.fail(err, "Use of --skip-broken-bitmaps requires --bitmaps");
        }
        if (noCreate && !options.isEmpty()) {
            return Errors.fail(err, "-o has no effect when skipping image creation");
        }
        if (targetIsZero && !noCreate) {
            return Errors.fail(err, "--target-is-zero requires use of -n flag");
        }
        if (files.size() < 2) {
            return Errors.fail(err, "Must specify image file name");
        }
        sources = files.subList(0, files.size() - 1);
        source = sources.get(0);
        target = files.get(files.size() - 1);
        String srcCache = srcCacheOpt.getValue();
        if (srcCache != null && !Options.CACHE_MODES.contains(srcCache)) {
            return Errors.fail(err, "Invalid source cache option: " + srcCache);
        }
        String cache = Options.valueOr(cacheOpt, "unsafe");
        badCache = Options.CACHE_MODES.contains(cache) ? null : cache;
        durable = !cache.equals("unsafe");
        // qemu-img draws its 0% line here, before it opens the source; from here on a failure ends the line
        bar = new QemuProgress(out, progress, 1.0f);
        bar.print(0, 100);
        int rc = openAndConvert(out, err);
        if (rc != 0) {
            bar.end();
        }
        return rc;
    }

    private int openAndConvert(PrintWriter out, PrintWriter err) {
        // each source as a block-layer name (file:, json:, --image-opts): its file and format from here on
        boolean imageOpts = spec.commandLine().getParseResult().hasMatchedOption(imageOptsOpt);
        List<String> files = new ArrayList<>(sources.size());
        List<String> formats = new ArrayList<>(sources.size());
        List<dev.q2.crypto.ImageKeys> keys = new ArrayList<>(sources.size());
        List<String> given = new ArrayList<>(sources);
        for (String name : sources) {
            // an encrypted source with its key (encrypt.key-secret, backing.encrypt.key-secret)
            dev.q2.block.ImageName srcName = ImageNames.withChain(NAME, name, imageOpts, sourceFormat, false,
                    main.workDir(), err);
            if (srcName == null) {
                return 1;
            }
            keys.add(ObjectOptions.keys(secrets, srcName));
            files.add(srcName.filename());
            formats.add(srcName.format(sourceFormat));
            forceShare |= srcName.flag("force-share");
        }
        sources = files;
        source = files.get(0);
        sourceFormat = formats.get(0);
        List<BlockGraph> graphs = new ArrayList<>(sources.size());
        try {
            for (int i = 0; i < sources.size(); i++) {
                String name = sources.get(i);
                try {
                    // as img_open: the source with its chain and data file, QEMU's locks and words
                    graphs.add(BlockGraph.openWithKeys(main.workDir(), name, formats.get(i), forceShare, true,
                            dev.q2.block.References.ALL, keys.get(i)));
                } catch (Exception e) {
                    if (keys.get(i) != null) {
                        // qemu-img names the source as it was given (its --image-opts or json: name)
                        return Errors.fail(err, Errors.imageOpenFailure(given.get(i), name, main.resolve(name), e));
                    }
                    return Errors.fail(err, Errors.imageOpenFailure(name, main.resolve(name), e));
                }
            }
            if (snapshot != null) {
                // qemu-img refuses a snapshot by ID or name with several sources; snapshot.id/name loads the first's
                if (snapshot.byIdOrName() && graphs.size() > 1) {
                    return Errors.fail(err, "No support for concatenating multiple snapshot");
                }
                try {
                    snapshot.load(graphs.get(0));
                } catch (Exception e) {
                    return Errors.fail(err, "Failed to load snapshot: " + Errors.describe(e));
                }
            }
            return convert(dev.q2.convert.Sources.of(graphs), out, err);
        } catch (ConvertException e) {
            if (e.getCause() instanceof dev.q2.image.CorruptMetadataException c && c.firstReport()) {
                err.println(c.qemuReport()); // QEMU's qcow2 driver says it first
            }
            return Errors.fail(err, e.getMessage());
        } catch (Exception e) {
            return Errors.report(err, e);
        } finally {
            for (BlockGraph g : graphs) {
                try {
                    g.close();
                } catch (java.io.IOException e) {
                    // read-only: nothing to lose
                }
            }
        }
    }

    /** The -l arguments taken so far. */
    private int snapshotsSeen;

    /** The next -l, parsed as qemu-img parses it while reading the options; false after printing a refusal. */
    private boolean addSnapshot(PrintWriter err) {
        if (snapshot == null) {
            snapshot = new SnapshotParam();
        }
        List<String> values = snapshotOpt.getValue();
        List<String> lines = new ArrayList<>();
        boolean ok = true;
        try {
            snapshot.add(values.get(snapshotsSeen++), lines);
        } catch (SnapshotParam.Refused e) {
            lines = e.lines();
            ok = false;
        }
        for (String line : lines) {
            err.println(line);
        }
        err.flush();
        return ok;
    }

    private Integer convert(dev.q2.convert.Sources src, PrintWriter out, PrintWriter err) throws Exception {
        if (!targetFormat.equals("raw") && !targetFormat.equals("qcow2")) {
            return Errors.fail(err, "Unknown file format '" + targetFormat + "'");
        }
        Path dst = main.resolve(target);
        DoubleConsumer bar = progressBar(out);
        // --bitmaps' checks come where qemu-img makes them: after the backing file and compression checks
        if (noCreate) {
            if (targetIsZero && backingFile != null) {
                // qemu-img 7.2 reports this and then exits with 0 without converting; q2 fails
                return Errors.fail(err, "Cannot use --target-is-zero when the destination image has a backing file");
            }
            if (backingFile != null && src.count() > 1) {
                return Errors.fail(err, MULTIPLE_WITH_BACKING);
            }
            if (bitmaps && !checkBitmaps(err)) {
                return 1;
            }
            if (badCache != null) {
                return Errors.fail(err, "Invalid cache option: " + badCache);
            }
            Converter.Settings settings =
                    new Converter.Settings(compress, backingFile != null, targetIsZero, minSparse, durable);
            if (targetFormat.equals("raw")) {
                if (bitmaps) {
                    return Errors.fail(err, "Format driver 'raw' does not support bitmaps");
                }
                return intoRaw(src, dst, settings, bar, out, err);
            }
            if (!java.nio.file.Files.exists(dst)) {
                return Errors.fail(err, "Could not open '" + target + "': Could not open '" + target
                        + "': No such file or directory");
            }
            // an encrypted or broken target (or backing chain) is refused before anything is written; without
            // locks here, so that a held target is reported as qemu-img reports it, by the open for writing below
            try (Qcow2Disk existing = Qcow2Disk.open(dst,
                    DiskOptions.readOnly().withForceShare(true).withWorkDir(main.workDir()))) {
                existing.header();
            } catch (ImageException e) {
                return Errors.fail(err, Errors.couldNotOpen(target, e));
            }
            if (bitmaps && !supportsBitmaps(dst)) {
                return Errors.fail(err, "Format driver 'qcow2' does not support bitmaps");
            }
            try {
                Converter.into(src, dst, settings, false, main.workDir(), bar, bitmaps ? this::copyBitmaps : null);
            } catch (QemuLock.LockConflictException e) {
                return Errors.fail(err, Errors.couldNotOpen(target, e));
            }
            return done(out);
        }
        if (targetFormat.equals("raw")) {
            if (backingFile != null) {
                return Errors.fail(err, "Backing file not supported for file format 'raw'");
            }
            if (!options.isEmpty()) {
                return Errors.fail(err, "-o options are only supported for qcow2 targets");
            }
            if (compress) {
                return Errors.fail(err, "Compression not supported for this file format");
            }
            if (bitmaps && !checkBitmaps(err)) {
                return 1;
            }
            if (!createAllowed(dst, err)) {
                return 1;
            }
            if (badCache != null) {
                // qemu-img creates the target before it reads the cache mode, and leaves it behind
                Converter.createRaw(dst, src.size());
                return Errors.fail(err, "Invalid cache option: " + badCache);
            }
            if (bitmaps) {
                Converter.createRaw(dst, src.size()); // created, then refused, as by qemu-img
                return Errors.fail(err, "Format driver 'raw' does not support bitmaps");
            }
            if (sparseOpt.getValue() == null && src.single() != null && !progress) {
                // the fast path: same bytes, not quite the same holes (with -p: qemu-img's steps and percentages)
                Converter.toRaw(src.single(), dst, durable, bar);
            } else {
                Converter.toRaw(src, dst, new Converter.Settings(false, false, true, minSparse, durable), bar);
            }
            return done(out);
        }
        CreateOptions opts = new CreateOptions();
        CreatePlanner.Plan plan;
        try {
            for (String o : options) {
                CreatePlanner.parseOptions(o, opts);
            }
            if (backingFile != null) {
                opts.set("backing_file", backingFile); // -B and -F win over -o, as in qemu-img
            }
            if (backingFormat != null) {
                opts.set("backing_fmt", backingFormat);
            }
            if (opts.get("backing_file") != null && src.count() > 1) {
                return Errors.fail(err, MULTIPLE_WITH_BACKING);
            }
            if (opts.get("backing_file") != null && opts.get("backing_fmt") == null) {
                return Errors.fail(err, "Use of backing file requires explicit backing format");
            }
            String prealloc = opts.get("preallocation");
            if (compress && prealloc != null && !prealloc.equals("off")) {
                return Errors.fail(err, "Compression and preallocation not supported at the same time");
            }
            if (bitmaps && !checkBitmaps(err)) {
                return 1;
            }
            // as qemu-img convert, the backing file is not opened to create the target, only to write it
            plan = CreatePlanner.plan(new CreateRequest(main.workDir(), target, Long.toString(src.size()), opts,
                    null, null, true), secrets);
        } catch (CreateException e) {
            return Errors.fail(err, e.afterFormatting()
                    ? target + ": error while converting qcow2: " + e.getMessage() : e.getMessage());
        }
        String backing = plan.spec().backingFile();
        if (!createAllowed(dst, err)) {
            return 1;
        }
        Qcow2Creator.create(dst, plan.spec(), main.workDir());
        dev.q2.crypto.ImageKeys targetKeys = null;
        if (plan.encryption() != null) {
            plan.encryption().apply(dst);
            targetKeys = dev.q2.crypto.ImageKeys.of(plan.encryption().key());
        }
        if (badCache != null) {
            return Errors.fail(err, "Invalid cache option: " + badCache); // the new target stays, as qemu-img's does
        }
        if (backing != null) {
            String shown = CreatePlanner.combinedName(target, backing);
            if (!java.nio.file.Files.exists(main.resolve(shown))) {
                // qemu-img leaves the new target behind in this case too
                return Errors.fail(err, "Could not open '" + target + "': Could not open backing file: Could not open '"
                        + shown + "': No such file or directory");
            }
        }
        if (bitmaps && plan.spec().version() < 3) {
            return Errors.fail(err, "Format driver 'qcow2' does not support bitmaps"); // the new target stays
        }
        // QEMU's qcow2 has_zero_init: a preallocated encrypted image does not read as zeros (its clusters hold
        // what decrypting unwritten bytes gives), so zeros are written into it as into a backed target (iotest 188)
        String prealloc = opts.get("preallocation");
        boolean preallocated = prealloc != null && !prealloc.equals("off") && src.size() > 0;
        boolean targetIsZero = backing == null && !(targetKeys != null && preallocated);
        Converter.into(src, dst, new Converter.Settings(compress, backing != null, targetIsZero, minSparse,
                durable), true, main.workDir(), bar, bitmaps ? this::copyBitmaps : null, targetKeys);
        return done(out);
    }

    private static final String MULTIPLE_WITH_BACKING =
            "Having a backing file for the target makes no sense when concatenating multiple input images";

    /** convert --bitmaps' check of the source, before the target is created; false after printing the refusal. */
    private boolean checkBitmaps(PrintWriter err) {
        if (sources.size() > 1) {
            Errors.fail(err, "Copying bitmaps only possible with single source");
            return false;
        }
        try {
            dev.q2.bitmap.BitmapCopier.check(main.resolve(source), sourceFormat, skipBroken);
            return true;
        } catch (dev.q2.bitmap.BitmapCopier.BitmapCopyException e) {
            Errors.fail(err, e.getMessage());
            if (e.hint() != null) {
                err.println(e.hint());
            }
            return false;
        } catch (Exception e) {
            Errors.fail(err, Errors.describe(e));
            return false;
        }
    }

    private static boolean supportsBitmaps(Path qcow2) {
        try (dev.q2.image.Qcow2Metadata img = dev.q2.image.Qcow2Metadata.openMetadata(qcow2)) {
            return img.header().version() >= 3;
        } catch (Exception e) {
            return true; // the open for writing reports it
        }
    }

    /** convert --bitmaps' copy into the open qcow2 target, after the data (a failure ends the command). */
    private void copyBitmaps(Qcow2Disk target) throws java.io.IOException {
        PrintWriter err = err();
        try {
            dev.q2.bitmap.BitmapCopier.copy(main.resolve(source), sourceFormat, target, skipBroken,
                    w -> err.println("q2: warning: " + w));
        } catch (dev.q2.bitmap.BitmapCopier.BitmapCopyException e) {
            throw new ConvertException(e.getMessage());
        }
    }

    /**
     * -S: a size in qemu's notation, a multiple of 512 up to 16 MiB; qemu-img's messages otherwise.
     */
    private boolean parseSparse(String arg, PrintWriter err) {
        long bytes;
        try {
            dev.q2.util.Sizes.Parsed p = dev.q2.util.Sizes.parse(arg);
            if (p.hexWithSuffix()) {
                err.println("q2: warning: Using a multiplier suffix on hex numbers is deprecated: " + arg);
            }
            bytes = p.value();
        } catch (dev.q2.util.Sizes.SizeFormatException e) {
            if (e.outOfRange()) {
                bytes = -1;
            } else {
                Errors.fail(err, "Invalid buffer size for sparse output specified. You may use k, M, G, T, P or E"
                        + " suffixes for");
                Errors.fail(err, "kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
                return false;
            }
        }
        if (bytes < 0) { // past 2^63 - 1
            Errors.fail(err,
                    "Invalid buffer size for sparse output specified. Must be between 0 and 9223372036854775807.");
            return false;
        }
        if (bytes % 512 != 0 || bytes / 512 > Converter.MAX_MIN_SPARSE) {
            Errors.fail(err, "Invalid buffer size for sparse output specified. Valid sizes are multiples of 512 up to "
                    + (Converter.MAX_MIN_SPARSE * 512L) + ". Select 0 to disable sparse detection (fully allocates"
                    + " output).");
            return false;
        }
        minSparse = (int) (bytes / 512);
        return true;
    }

    /** -m: an int in C's notation (strtol with base 0: decimal, 0x hex, 0 octal), 1 to 16. */
    static boolean validCoroutines(String arg) {
        String s = arg.stripLeading();
        boolean negative = false;
        if (s.startsWith("+") || s.startsWith("-")) {
            negative = s.startsWith("-");
            s = s.substring(1);
        }
        int radix = 10;
        if (s.length() > 2 && (s.startsWith("0x") || s.startsWith("0X"))) {
            radix = 16;
            s = s.substring(2);
        } else if (s.length() > 1 && s.startsWith("0")) {
            radix = 8;
            s = s.substring(1);
        }
        final int r = radix;
        if (s.isEmpty() || s.chars().anyMatch(c -> Character.digit(c, r) < 0)) {
            return false;
        }
        java.math.BigInteger v = new java.math.BigInteger(s, r);
        return !negative && v.compareTo(java.math.BigInteger.ONE) >= 0
                && v.compareTo(java.math.BigInteger.valueOf(16)) <= 0;
    }

    /**
     * Refuses to create the target over a file in use, by another process or by this conversion (the source, or
     * one of its backing files), as qemu-img's create step does.
     */
    private boolean createAllowed(Path dst, PrintWriter err) throws java.io.IOException {
        try {
            QemuLock.checkCanCreate(dst);
            return true;
        } catch (QemuLock.LockConflictException e) {
            Errors.fail(err, target + ": error while converting " + targetFormat + ": " + e.qemuLines(target));
            return false;
        }
    }

    /** -n into an existing raw file or block device; errors in qemu-img's order: open, compression, size. */
    private int intoRaw(dev.q2.convert.Sources src, Path dst, Converter.Settings settings, DoubleConsumer bar, PrintWriter out,
                        PrintWriter err) throws Exception {
        RawTarget t;
        try {
            t = RawTarget.open(dst);
        } catch (QemuLock.LockConflictException e) {
            return Errors.fail(err, Errors.couldNotOpen(target, e));
        } catch (java.io.IOException e) {
            // qemu-img names the file twice: once for the raw format, once for the file protocol under it
            return Errors.fail(err, "Could not open '" + target + "': " + Errors.couldNotOpen(target, e));
        }
        try (t) {
            Converter.intoRaw(src, t, settings, bar);
        }
        return done(out);
    }

    private int done(PrintWriter out) {
        bar.print(100, 0); // qemu-img's last line, after the copy (and the bitmaps)
        bar.end();
        out.flush();
        return 0;
    }

    /**
     * qemu-img's progress line, "    (42.00/100%)" redrawn with a carriage return when it moved by more than one
     * percent (QemuProgress), fed with the converter's percentages of the data steps done.
     */
    private DoubleConsumer progressBar(PrintWriter out) {
        if (!progress) {
            return Converter.NO_PROGRESS;
        }
        return new DoubleConsumer() { // not a lambda: start-up
            @Override
            public void accept(double percent) {
                bar.print((float) percent, 0);
            }
        };
    }
}
