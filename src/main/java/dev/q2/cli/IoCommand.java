package dev.q2.cli;

import dev.q2.guestio.CacheOptions;
import dev.q2.guestio.GuestDisk;
import dev.q2.guestio.IoScript;
import dev.q2.guestio.RawGuestDisk;
import dev.q2.image.DiskOptions;
import dev.q2.image.Qcow2Disk;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** q2 io: qemu-io's commands (see IoScript) on a qcow2 image, from -c options or stdin; the file operand is optional. */
final class IoCommand extends Subcommand {
    static final String NAME = "io";

    private final OptionSpec formatOpt = Options.value("FMT", "Image format (only qcow2)", "-f");
    private final OptionSpec commandsOpt = Options.repeatable("CMD", "A command to run; may be repeated", "-c");
    private final OptionSpec readOnlyOpt = Options.flag("Open read-only", "-r", "--read-only");
    private final OptionSpec forceShareOpt =
            Options.forceShare("Open even if another process holds it (read-only)");
    private final OptionSpec cacheOpt = Options.value("MODE",
            "Cache mode (none, writeback, writethrough, directsync, unsafe); checked, q2 io's I/O is the same in all",
            "-t", "--cache");
    private final OptionSpec nocacheOpt = Options.flag("Short for -t none", "-n", "--nocache");
    private final OptionSpec aioOpt = Options.value("MODE", "AIO mode (threads, native or io_uring); checked only",
            "-i", "--aio");
    private final OptionSpec nativeAioOpt = Options.flag("Short for -i native", "-k", "--native-aio");
    private final OptionSpec snapshotOpt = Options.flag(
            "Snapshot mode: writes go to a temporary overlay, the image is left as it is", "-s", "--snapshot");
    private final OptionSpec copyOnReadOpt = Options.flag(
            "Copy-on-read: reads copy what the backing chain provides into the image", "-C", "--copy-on-read");
    private final OptionSpec objectOpt = Options.repeatable("OBJECT",
            "A secret for encrypt.key-secret (open -o): secret,id=ID,data=DATA|file=PATH[,format=raw|base64]",
            "--object");
    private final OptionSpec imageOptsOpt = Options.imageOpts();
    private final PositionalParamSpec filenameParam = Options.positional("0", "0..1", "FILENAME");

    IoCommand(Main main) {
        super(main, NAME);
        declare("Run qemu-io style commands (read, write, discard, flush, truncate, map, alloc, info, open, reopen,"
                + " close, ...) on an image", formatOpt, commandsOpt, readOnlyOpt, forceShareOpt, cacheOpt, nocacheOpt, aioOpt,
                nativeAioOpt, snapshotOpt, copyOnReadOpt, objectOpt, imageOptsOpt,
                filenameParam);
    }

    @Override
    public Integer call() {
        // stdout as qemu-io's: fully buffered unless it is a terminal (stderr lines come first)
        dev.q2.guestio.StdioBuffer stdio = System.console() == null ? new dev.q2.guestio.StdioBuffer(out()) : null;
        try {
            return run(stdio == null ? out() : new PrintWriter(stdio), stdio);
        } finally {
            if (stdio != null) {
                stdio.drain();
            }
        }
    }

    private Integer run(PrintWriter out, dev.q2.guestio.StdioBuffer stdio) {
        ParseResult parsed = parsed();
        String format = Options.valueOr(formatOpt, "qcow2");
        String filename = filenameParam.getValue();
        PrintWriter err = err();
        if (!readObjects(objectOpt, err)) { // objects first, as in qemu-img
            return 1;
        }
        // -t/-n and -i/-k: checked and accepted as qemu-io checks them (-t and -i win over -n and -k); q2 io reads
        // and writes through the page cache and flushes at the end in every mode.
        String cache = Options.valueOr(cacheOpt, parsed.hasMatchedOption(nocacheOpt) ? "none" : "writeback");
        boolean direct;
        switch (cache) {
            case "none", "off", "directsync" -> direct = true;
            case "writeback", "writethrough", "unsafe" -> direct = false;
            default -> {
                err.println("q2: Invalid cache option: " + cache);
                return 1;
            }
        }
        String aio = Options.valueOr(aioOpt, parsed.hasMatchedOption(nativeAioOpt) ? "native" : "threads");
        if (!aio.equals("threads") && !aio.equals("native") && !aio.equals("io_uring")) {
            err.println("q2: Invalid aio option: " + aio);
            return 1;
        }
        if (aio.equals("native") && !direct && filename != null) {
            err.println("q2: can't open device " + filename
                    + ": aio=native was specified, but it requires cache.direct=on, which was not specified.");
            return 1;
        }
        boolean imageOpts = parsed.hasMatchedOption(imageOptsOpt);
        if (imageOpts && parsed.hasMatchedOption(formatOpt)) {
            err.println("q2: --image-opts and -f are mutually exclusive");
            return 1;
        }
        if (!format.equals("qcow2") && !format.equals("raw")) {
            err.println("q2: q2 io works on qcow2 and raw images only");
            return 1;
        }
        IoScript script = new IoScript(new IoScript.Opener() {
            @Override
            public GuestDisk open(String name, String fmt, java.util.Map<String, String> options, boolean ro,
                                  boolean share, PrintWriter errors) {
                return fmt != null ? openDisk(name, fmt, options, ro, share, false, errors)
                        : openDisk(name, format, options, ro, share, !parsed.hasMatchedOption(formatOpt), errors);
            }

            @Override
            public java.nio.file.Path workDir() {
                return main.workDir();
            }
        }, out, err);
        if (stdio != null) {
            script.onStdoutDrain(stdio::drain);
        }
        script.onHalt(new java.util.function.IntConsumer() {
            @Override
            public void accept(int status) {
                Runtime.getRuntime().halt(status); // sigraise: the process ends at once, the image as it is
            }
        });
        // qemu-io's default cache mode writes through (each write flushed); -t writeback, none and unsafe do not
        script.writethrough(!parsed.hasMatchedOption(cacheOpt) && !parsed.hasMatchedOption(nocacheOpt)
                || cache.equals("writethrough") || cache.equals("directsync"));
        if (filename != null && imageOpts) {
            // the operand is the image's options (QemuOpts), as open -o gives them: no file name of its own
            java.util.Map<String, String> options;
            try {
                options = dev.q2.block.BlockOptions.fromQemuOpts(filename, null);
            } catch (dev.q2.image.ImageException e) {
                err.println("q2: " + e.getMessage());
                return 1;
            }
            if (!script.open(null, options, parsed.hasMatchedOption(readOnlyOpt),
                    parsed.hasMatchedOption(forceShareOpt), parsed.hasMatchedOption(snapshotOpt),
                    parsed.hasMatchedOption(copyOnReadOpt))) {
                return 1;
            }
        } else if (filename != null && !script.open(filename, parsed.hasMatchedOption(readOnlyOpt),
                parsed.hasMatchedOption(forceShareOpt), parsed.hasMatchedOption(snapshotOpt),
                parsed.hasMatchedOption(copyOnReadOpt))) {
            return 1;
        }
        List<String> commands = Options.valueOr(commandsOpt, List.of());
        try {
            if (commands.isEmpty()) {
                BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                for (String line = in.readLine(); line != null && !script.quit(); line = in.readLine()) {
                    script.run(line);
                }
            } else {
                for (String c : commands) {
                    if (script.quit()) {
                        break;
                    }
                    script.run(c);
                }
            }
            script.close();
            out.flush();
            return script.failed() ? 1 : 0;
        } catch (Exception e) {
            Errors.report(err, e);
            try {
                script.close();
            } catch (Exception ignored) {
                // the first failure is the one reported
            }
            return 1;
        }
    }

    /**
     * Opens {@code name} for q2 io (its file operand and the open command), or reports qemu-io's "can't open device
     * NAME: reason" on {@code err} and returns null.
     */
    private GuestDisk openDisk(String given, String format, java.util.Map<String, String> options, boolean ro,
                               boolean share, boolean probe, PrintWriter err) {
        String device = given == null ? "" : " device " + given;
        java.util.Map<String, String> filtered = compressChild(given, options);
        if (filtered != null) {
            // QEMU's compress filter (driver=compress): its "file" child opened as a node of its own, then wrapped
            for (String k : filtered.keySet()) {
                if (k.startsWith("\0")) {
                    err.println("q2: can't open" + device + ": Block format 'compress' does not support the option '"
                            + k.substring(1) + "'");
                    return null;
                }
            }
            if (filtered.isEmpty()) {
                err.println("q2: can't open" + device + ": A block device must be specified for \"file\"");
                return null;
            }
            java.io.StringWriter inner = new java.io.StringWriter();
            PrintWriter innerErr = new PrintWriter(inner);
            GuestDisk child = openDisk(null, format, filtered, ro, share, probe, innerErr);
            innerErr.flush();
            if (child == null) {
                err.print(inner.toString().replace("q2: can't open: ", "q2: can't open" + device + ": "));
                return null;
            }
            GuestDisk filter = dev.q2.guestio.CompressFilter.over(child);
            if (filter == null) {
                String driver = filtered.getOrDefault("driver", child.format());
                try {
                    child.close();
                } catch (java.io.IOException e) {
                    // refused: the refusal is what is reported
                }
                err.println("q2: can't open" + device + ": " + dev.q2.guestio.CompressFilter.unsupported(driver));
                return null;
            }
            return filter;
        }
        dev.q2.block.ImageName in;
        try {
            // the name (file, file:, json:) and the open command's -o options, read by the block layer's one reader
            in = dev.q2.block.ImageName.parse(given, options);
        } catch (dev.q2.image.ImageException e) {
            err.println("q2: can't open" + device + ": " + e.getMessage());
            return null;
        }
        String name = in.filename();
        if (in.nested() != null) {
            try {
                return openNested(in, ro || share, err);
            } catch (Exception e) {
                err.println("q2: can't open" + device + ": " + Errors.describe(e));
                return null;
            }
        }
        if (in.format() != null) {
            format = in.format();
            probe = false;
        }
        ro |= in.flag("read-only");
        share |= in.flag("force-share");
        if (share && !ro) {
            err.println("q2: can't open" + device + ": force-share=on can only be used with read-only images");
            return null;
        }
        if (format.equals("file") || format.equals("host_device") || format.equals("host_cdrom")) {
            String refused = protocolRefusal(format, name, ro);
            if (refused != null) {
                err.println("q2: can't open" + device + ": " + refused);
                return null;
            }
            format = "raw"; // the file's bytes, as the raw format shows them
        }
        options = new java.util.HashMap<>();
        for (java.util.Map.Entry<String, String> e : in.options().entrySet()) {
            if (CacheOptions.KEYS.contains(e.getKey())) {
                options.put(e.getKey(), e.getValue());
            }
        }
        DiskOptions opt = ro || share ? DiskOptions.readOnly().withForceShare(share) : DiskOptions.readWrite();
        try {
            String fmt = format;
            if (probe && !name.isEmpty() && java.nio.file.Files.isRegularFile(main.resolve(name))) {
                fmt = dev.q2.image.Devices.probe(main.resolve(name));
                if (dev.q2.probe.FormatProber.FOREIGN.contains(fmt)) {
                    // another format qemu-io would open: named, never read as something else
                    err.println("q2: can't open" + device + ": " + dev.q2.probe.FormatProber.cannotRead(fmt));
                    return null;
                }
            }
            if (fmt.equals("raw")) {
                GuestDisk raw = RawGuestDisk.open(main.resolve(name), ro || share, share);
                if (probe) {
                    // qemu's warning for a probed raw image. Unlike QEMU, q2 io does not restrict writes to its
                    // first sector.
                    err.println(Errors.rawProbeWarning(name));
                    err.flush();
                }
                return raw;
            }
            String backingRefused = BackingOverride.refusal(main.workDir(), in);
            if (backingRefused != null) {
                err.println("q2: can't open" + device + ": q2 io does not support " + backingRefused);
                return null;
            }
            opt = opt.withKeys(ObjectOptions.keys(secrets, in)); // (null: no key given, no crypto class loaded)
            if (!options.isEmpty()) {
                CacheOptions cache = cacheOptions(main.resolve(name), options);
                if (cache != null) {
                    opt = opt.withL2Cache(cache.l2CacheBytes(), cache.l2EntrySize());
                }
            }
            opt = opt.withWorkDir(main.workDir()).withOverrides(in.backingFormat(), in.dataFile());
            if (in.references() != dev.q2.block.References.ALL) {
                opt = opt.withoutBacking();
            }
            int overlap = dev.q2.guestio.OverlapCheck.mask(in.options());
            GuestDisk opened = GuestDisk.of(Qcow2Disk.open(main.resolve(name), opt, err));
            try {
                return dev.q2.guestio.OverlapCheck.guard(opened, main.resolve(name), overlap, err);
            } catch (java.io.IOException | RuntimeException e) {
                opened.close();
                throw e;
            }
        } catch (CacheOptions.Refused e) {
            err.println("q2: can't open" + device + ": " + e.getMessage());
            return null;
        } catch (Exception e) {
            err.println("q2: can't open" + device + ": "
                    + openError(name, format, e, opt.keys(), in.dataFile() == null));
            return null;
        }
    }

    /**
     * The options of the {@code file} child when {@code given} (a json: name) and {@code options} describe QEMU's
     * compress filter ({@code driver=compress}), or null when they do not. An option of the filter's own other than
     * the driver is returned with a NUL in front of its key (the filter has none).
     */
    private static java.util.Map<String, String> compressChild(String given, java.util.Map<String, String> options) {
        java.util.Map<String, String> all = new java.util.LinkedHashMap<>();
        if (given != null && given.startsWith("json:")) {
            try {
                all.putAll(dev.q2.block.BlockOptions.fromJson(given.substring(5)));
            } catch (dev.q2.image.ImageException e) {
                return null; // ImageName reports it
            }
        }
        all.putAll(options);
        if (!"compress".equals(all.get("driver"))) {
            return null;
        }
        java.util.Map<String, String> child = new java.util.LinkedHashMap<>();
        for (java.util.Map.Entry<String, String> e : all.entrySet()) {
            String k = e.getKey();
            if (k.startsWith("file.")) {
                child.put(k.substring(5), e.getValue());
            } else if (!k.equals("driver") && !k.equals("node-name")) {
                return java.util.Map.of("\0" + k, "");
            }
        }
        return child;
    }

    /**
     * Opens a qcow2 image whose file is another image's guest data (QEMU's format node as a {@code file} child):
     * the inner image first (with what it names), then the outer one over it, which has no backing file or data
     * file of its own here.
     */
    private GuestDisk openNested(dev.q2.block.ImageName in, boolean ro, PrintWriter err) throws Exception {
        if (in.format() != null && !in.format().equals("qcow2")) {
            throw new dev.q2.image.ImageException("q2 io reads only a qcow2 image over another format node");
        }
        dev.q2.block.ImageName inner = in.nested();
        GuestDisk innerDisk;
        if (inner.nested() != null) {
            innerDisk = openNested(inner, ro, err);
        } else if ("raw".equals(inner.format())) {
            innerDisk = RawGuestDisk.open(main.resolve(inner.filename()), ro, false);
        } else {
            DiskOptions io = (ro ? DiskOptions.readOnly() : DiskOptions.readWrite()).withWorkDir(main.workDir())
                    .withOverrides(inner.backingFormat(), inner.dataFile());
            innerDisk = GuestDisk.of(Qcow2Disk.open(main.resolve(inner.filename()),
                    inner.references() == dev.q2.block.References.ALL ? io : io.withoutBacking(), err));
        }
        try {
            DiskOptions outer = (ro ? DiskOptions.readOnly() : DiskOptions.readWrite()).withoutBacking();
            return GuestDisk.of(Qcow2Disk.open(new dev.q2.guestio.FormatNodeStorage(innerDisk, !ro), outer, err));
        } catch (Exception e) {
            innerDisk.close();
            throw e;
        }
    }

    /**
     * Why a protocol driver given alone ({@code driver=file}, {@code host_device}, {@code host_cdrom}) refuses the
     * file {@code name}, in QEMU's words, or null when it takes it.
     */
    private String protocolRefusal(String driver, String name, boolean ro) {
        java.nio.file.Path p = main.resolve(name);
        boolean device = isDevice(p);
        boolean fits = driver.equals("file") ? java.nio.file.Files.isRegularFile(p) : device;
        if (fits) {
            return null;
        }
        if (!ro && java.nio.file.Files.isDirectory(p)) {
            return "Could not open '" + name + "': Is a directory";
        }
        return driver.equals("file") ? "'file' driver requires '" + name + "' to be a regular file"
                : "'" + driver + "' driver requires '" + name + "' to be either a character or block device";
    }

    private static boolean isDevice(java.nio.file.Path p) {
        try {
            Object mode = java.nio.file.Files.getAttribute(p, "unix:mode");
            int type = ((Integer) mode) & 0170000;
            return type == 0020000 || type == 0060000;
        } catch (Exception e) {
            return false;
        }
    }

    /**
     * The qcow2 cache options resolved for the image at {@code path} (its cluster size, virtual size and L2 entry
     * width read from its header), or null when the header is not one q2 reads: the open then says why.
     */
    private static CacheOptions cacheOptions(java.nio.file.Path path, java.util.Map<String, String> options)
            throws java.io.IOException, CacheOptions.Refused {
        java.nio.ByteBuffer h = java.nio.ByteBuffer.allocate(dev.q2.format.QcowHeader.V3_HEADER_LENGTH);
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(path)) {
            while (h.hasRemaining() && ch.read(h, h.position()) > 0) {
                // read the header, or what there is of it
            }
        }
        h.flip();
        if (h.remaining() < dev.q2.format.QcowHeader.V3_HEADER_LENGTH) {
            return null;
        }
        int clusterBits = h.getInt(20);
        if (clusterBits < dev.q2.format.QcowHeader.MIN_CLUSTER_BITS
                || clusterBits > dev.q2.format.QcowHeader.MAX_CLUSTER_BITS) {
            return null;
        }
        boolean extended = h.getInt(4) >= 3
                && (h.getLong(72) & dev.q2.format.Features.INCOMPAT_EXTL2) != 0;
        return CacheOptions.resolve(options, 1L << clusterBits, h.getLong(24), extended ? 16 : 8);
    }

    /**
     * qemu-io's reason after "can't open device F: ": the file protocol's own words where it fails (naming the
     * file), the format's or the lock's otherwise.
     */
    private String openError(String filename, String format, Exception e, dev.q2.crypto.ImageKeys keys,
                             boolean chainAsNamed) {
        if (filename.isEmpty()) {
            return "The 'file' block driver requires a file name";
        }
        if (e instanceof dev.q2.io.QemuLock.LockConflictException lock) {
            return lock.qemuLines(filename);
        }
        if (java.nio.file.Files.isDirectory(main.resolve(filename))) {
            return "Could not open '" + filename + "': Is a directory"; // qemu-io's file protocol, not qemu-img's
        }
        if (e instanceof java.nio.file.FileSystemException) {
            return Errors.couldNotOpen(filename, e);
        }
        if (e.getCause() instanceof dev.q2.crypto.CryptoException) {
            return e.getMessage(); // the image's key: wrong password, no such secret, a cipher q2 cannot use
        }
        // The image itself opened as far as its format goes: what failed may lie below it, worded as qemu-io words
        // it ("Could not open backing file: Could not open 'NAME': ...", NAME as the image names it).
        // (not with the user's data-file: the chain as the image names it is not what was opened)
        Exception below = chainAsNamed ? chainFailure(filename, format, keys) : null;
        return Errors.describe(below != null ? below : e);
    }
}
