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
    private final OptionSpec objectOpt = Options.repeatable("OBJECT",
            "A secret for encrypt.key-secret (open -o): secret,id=ID,data=DATA|file=PATH[,format=raw|base64]",
            "--object");
    private final PositionalParamSpec filenameParam = Options.positional("0", "0..1", "FILENAME");
    /** --object secrets; null when none were given. */
    private dev.q2.crypto.Secrets secrets;

    IoCommand(Main main) {
        super(main, NAME);
        declare("Run qemu-io style commands (read, write, discard, flush, map, alloc, info, open, close, ...) on an"
                + " image", formatOpt, commandsOpt, readOnlyOpt, forceShareOpt, cacheOpt, nocacheOpt, aioOpt,
                nativeAioOpt, objectOpt, filenameParam);
    }

    @Override
    public Integer call() {
        ParseResult parsed = parsed();
        String format = Options.valueOr(formatOpt, "qcow2");
        String filename = filenameParam.getValue();
        PrintWriter out = out();
        PrintWriter err = err();
        if (ObjectOptions.given(objectOpt.getValue())) {
            secrets = ObjectOptions.secrets(objectOpt.getValue(), err); // qemu-io creates its objects first
            if (secrets == null) {
                return 1;
            }
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
        if (filename != null && !script.open(filename, parsed.hasMatchedOption(readOnlyOpt),
                parsed.hasMatchedOption(forceShareOpt))) {
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
    private GuestDisk openDisk(String name, String format, java.util.Map<String, String> options, boolean ro,
                               boolean share, boolean probe, PrintWriter err) {
        DiskOptions opt = ro || share ? DiskOptions.readOnly().withForceShare(share) : DiskOptions.readWrite();
        try {
            String fmt = format;
            if (probe && !name.isEmpty() && java.nio.file.Files.isRegularFile(main.resolve(name))) {
                fmt = dev.q2.image.Devices.probe(main.resolve(name));
                if (dev.q2.probe.FormatProber.FOREIGN.contains(fmt)) {
                    // another format qemu-io would open: named, never read as something else
                    err.println("q2: can't open device " + name + ": "
                            + dev.q2.probe.FormatProber.cannotRead(fmt));
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
            if (options.containsKey("encrypt.key-secret") || options.containsKey("backing.encrypt.key-secret")) {
                options = new java.util.HashMap<>(options);
                opt = opt.withKeys(ObjectOptions.keys(secrets != null ? secrets : new dev.q2.crypto.Secrets(),
                        options.remove("encrypt.key-secret"), options.remove("backing.encrypt.key-secret")));
            }
            if (!options.isEmpty()) {
                CacheOptions cache = cacheOptions(main.resolve(name), options);
                if (cache != null) {
                    opt = opt.withL2Cache(cache.l2CacheBytes(), cache.l2EntrySize());
                }
            }
            return GuestDisk.of(Qcow2Disk.open(main.resolve(name), opt.withWorkDir(main.workDir()), err));
        } catch (CacheOptions.Refused e) {
            err.println("q2: can't open device " + name + ": " + e.getMessage());
            return null;
        } catch (Exception e) {
            err.println("q2: can't open device " + name + ": " + openError(name, format, e));
            return null;
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
    private String openError(String filename, String format, Exception e) {
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
        Exception below = chainFailure(filename, format);
        return Errors.describe(below != null ? below : e);
    }
}
