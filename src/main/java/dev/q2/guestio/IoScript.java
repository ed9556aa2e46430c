package dev.q2.guestio;

import dev.q2.compress.CompressionException;
import dev.q2.image.CorruptMetadataException;
import dev.q2.image.DiskUnusableException;
import dev.q2.image.Qcow2Disk;
import dev.q2.util.Sizes;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs qemu-io style commands against a qcow2 disk: {@code read [-CqvP pattern [-s off] [-l len]] OFF LEN},
 * {@code write [-cCfquzP pattern] OFF LEN}, {@code discard [-Cq] OFF LEN}, {@code readv}, {@code writev},
 * {@code aio_read}, {@code aio_write}, {@code aio_flush}, {@code flush}, {@code length}, {@code map},
 * {@code alloc OFF [COUNT]}, {@code info}, {@code open [-rnkU] [-t cache] [-i aio] [-o driver=qcow2|raw] FILE},
 * {@code close}, {@code quit}. Numbers take qemu's size suffixes; options are read as qemu-io's getopt reads them,
 * and those q2 io does not implement are refused as unknown options, never ignored. Output follows qemu-io's
 * (results on stdout, usage errors and the "no file open" line on stderr).
 *
 * <p>Size: one class on purpose, as qemu-io.c's command table is one file: each command is a short method (its
 * checks in qemu-io's order, one call to the {@link GuestDisk}); getopt strings and usage lines live in
 * {@link IoCommand}, the reading of words in {@link IoArgs}, the block queries in {@link BlockQueries}, the output
 * wording in {@link IoOutput}. Splitting the table per command would scatter the shared open/close state without
 * making any command clearer.
 *
 * <p>Not thread-safe: one script runs at a time.
 */
public final class IoScript {
    /** qemu-io's limit on one request (BDRV_REQUEST_MAX_BYTES). */
    private static final long MAX_LENGTH = 2147483136L;

    /**
     * Opens an image for the {@code open} command (and for q2 io's file operand): returns the disk, or reports
     * qemu-io's error line ("can't open device F: reason") itself and returns null. {@code format} is "qcow2",
     * "raw", or null for the command line's format (or probing); {@code options} are qcow2 cache options
     * ({@link CacheOptions}).
     */
    public interface Opener {
        GuestDisk open(String filename, String format, java.util.Map<String, String> options, boolean readOnly,
                       boolean forceShare, PrintWriter err);

        /** The folder relative names are opened in. */
        Path workDir();
    }

    private final Opener opener;
    private final PrintWriter out;
    private final PrintWriter err;
    private GuestDisk disk;
    private String filename;
    private boolean readOnly;
    private boolean failed;
    private boolean quit;

    /** A script on an open disk whose messages all go to {@code out}; it has no {@code open}. */
    public IoScript(Qcow2Disk disk, PrintWriter out) {
        this(disk, out, out);
    }

    /**
     * A script on an open disk that reports as qemu-io does: results and most errors on {@code out}; usage errors
     * and QEMU's qcow2 driver lines (a corrupt image) on {@code err}. It has no {@code open}, {@code map},
     * {@code alloc} or {@code info} (they need the file's name).
     */
    public IoScript(Qcow2Disk disk, PrintWriter out, PrintWriter err) {
        this((Opener) null, out, err);
        this.disk = GuestDisk.of(disk);
    }

    /** A script with no image open yet: {@link #open} (or the {@code open} command) opens one through {@code opener}. */
    public IoScript(Opener opener, PrintWriter out, PrintWriter err) {
        this.opener = opener;
        this.out = out;
        this.err = err;
    }

    /** Opens {@code name} as qemu-io's file operand does; false (the error reported) if it cannot. */
    public boolean open(String name, boolean readOnly, boolean forceShare) {
        return open(name, null, java.util.Map.of(), readOnly, forceShare);
    }

    private boolean open(String name, String format, java.util.Map<String, String> options, boolean readOnly,
                         boolean forceShare) {
        GuestDisk d = opener.open(name, format, options, readOnly, forceShare, err);
        if (d == null) {
            return false;
        }
        disk = d;
        filename = name;
        this.readOnly = readOnly || forceShare;
        return true;
    }

    /** The disk open now, or null. */
    public GuestDisk disk() {
        return disk;
    }

    /** Flushes and closes the disk open now, if any. */
    public void close() throws IOException {
        if (disk != null) {
            GuestDisk d = disk;
            disk = null;
            filename = null;
            try (d) {
                d.flush();
            }
        }
    }

    /** True once {@code quit} ran: qemu-io runs no command after it. */
    public boolean quit() {
        return quit;
    }

    /** True once any command failed (qemu-io then exits with 1). */
    public boolean failed() {
        return failed;
    }

    /** Runs one command line; errors are reported on {@code out} (or {@code err}) and remembered, not thrown. */
    public void run(String line) throws IOException {
        List<String> words = new ArrayList<>();
        for (String w : line.split(" ")) {   // qemu-io splits at single spaces and drops the empty words
            if (!w.isEmpty()) {
                words.add(w);
            }
        }
        if (words.isEmpty()) {
            return;
        }
        String cmd = words.remove(0);
        try {
            dispatch(cmd, words);
        } catch (IoArgs.UsageException e) {
            if (e.getMessage() != null) {
                failErr(e.getMessage());
            }
            failed = true;
            out.println(e.usage);
        } catch (IllegalArgumentException e) {
            fail(e.getMessage());
        } catch (CorruptMetadataException e) {
            // as qemu-io: the driver's line on stderr (once), the command's failure with EIO's words
            if (e.firstReport()) {
                out.flush();
                err.println(e.qemuReport());
                err.flush();
            }
            fail(verb(cmd) + " failed: Input/output error");
        } catch (DiskUnusableException e) {
            fail(verb(cmd) + " failed: " + e.getMessage());
        } catch (CompressionException e) {
            // a compressed cluster that does not inflate to a whole cluster: QEMU's decompression fails with EIO
            fail(verb(cmd) + " failed: Input/output error");
        }
        out.flush();
        err.flush();
    }

    /** Commands qemu-io runs with no file open (CMD_NOFILE_OK and the global ones). */
    private static boolean needsFile(String cmd) {
        return !List.of("open", "o", "quit", "exit", "q").contains(cmd);
    }

    private void dispatch(String cmd, List<String> words) throws IOException {
        if (isCommand(cmd) && needsFile(cmd) && disk == null) {
            failErr("no file open, try 'help open'");
            return;
        }
        switch (cmd) {
            case "read", "r" -> read(words);
            case "write", "w" -> write(words);
            case "discard", "d" -> discard(words);
            case "flush", "f" -> {
                if (argCount("flush", words, 0, 0)) {
                    disk.flush();
                }
            }
            case "readv" -> vectored(IoCommand.READV, words, false);
            case "writev" -> vectored(IoCommand.WRITEV, words, true);
            // q2 io completes aio requests before the next command, in order (qemu-io may complete them later
            // and in another order); their output is that of readv and writev
            case "aio_read" -> vectored(IoCommand.AIO_READ, words, false);
            case "aio_write" -> vectored(IoCommand.AIO_WRITE, words, true);
            case "aio_flush" -> {
                if (argCount("aio_flush", words, 0, 0)) {
                    disk.flush();
                }
            }
            case "quit", "exit", "q" -> quit = true;   // (qemu-io ignores words after it)
            case "length", "l" -> {
                if (argCount("length", words, 0, 0)) {
                    out.println(IoOutput.size(disk.size()));
                }
            }
            case "map" -> {
                if (argCount("map", words, 0, 0)) {
                    disk.flush();
                    queries().map(out, err);
                }
            }
            case "alloc", "a" -> alloc(words);
            case "info", "i" -> {
                if (argCount("info", words, 0, 0)) {
                    disk.flush();
                    queries().info(out, disk.qcow2() == null ? null : disk.qcow2().header());
                }
            }
            case "open", "o" -> openCommand(words);
            case "close", "c" -> {
                if (argCount("close", words, 0, 0)) {
                    close();
                }
            }
            default -> failErr("command \"" + cmd + "\" not found");
        }
    }

    private static boolean isCommand(String cmd) {
        return List.of("read", "r", "write", "w", "discard", "d", "flush", "f", "readv", "writev", "aio_read",
                "aio_write", "aio_flush", "quit", "exit", "q", "length", "l", "map", "alloc", "a", "info", "i",
                "open", "o", "close", "c").contains(cmd);
    }

    private BlockQueries queries() {
        if (opener == null || filename == null) {
            throw new IllegalArgumentException("q2 io: this command needs the image's file name");
        }
        return new BlockQueries(opener.workDir(), filename, disk.format());
    }

    private static String verb(String cmd) {
        return switch (cmd) {
            case "r" -> "read";
            case "w" -> "write";
            case "d" -> "discard";
            case "f" -> "flush";
            default -> cmd;
        };
    }

    private void fail(String message) {
        out.println(message);
        failed = true;
    }

    private void failErr(String message) {
        out.flush();
        err.println(message);
        err.flush();
        failed = true;
    }

    /** qemu-io's check of a command's argument count (options included), made before its options are read. */
    private boolean argCount(String cmd, List<String> words, int min, int max) {
        if (words.size() >= min && (max < 0 || words.size() <= max)) {
            return true;
        }
        failErr("bad argument count " + words.size() + " to " + cmd + ", expected "
                + (max < 0 ? "at least " + min : min == max ? Integer.toString(min) : "between " + min + " and " + max)
                + " arguments");
        return false;
    }

    private record Args(IoArgs.Parsed opts, long offset, long length) {
        boolean has(char c) {
            return opts.has(c);
        }

        String pattern() {
            return opts.options().get('P');
        }
    }

    /**
     * qemu-io's permission check of a command that writes, made after its argument count and before its options:
     * on a read-only image it fails with the block layer's line.
     */
    private boolean permitted(String cmd) {
        if (readOnly && List.of("write", "w", "writev", "aio_write", "discard", "d").contains(cmd)) {
            failErr("q2: Block node is read-only");
            return false;
        }
        return true;
    }

    /** A command of the form {@code CMD [options] off len}; a bad pattern is reported as qemu-io reports it. */
    private Args parse(IoCommand cmd, List<String> words) {
        if (!argCount(cmd.command, words, 2, -1) || !permitted(cmd.command)) {
            return null;
        }
        IoArgs.Parsed p = cmd.getopt(words);
        if (p.options().get('P') != null) {
            pattern(p.options().get('P'));   // qemu-io checks it while it reads the options
        }
        if (p.operands().size() != 2) {
            throw new IoArgs.UsageException(null, cmd.usage);
        }
        long offset = number(p.operands().get(0));
        long length = number(p.operands().get(1));
        if (length > MAX_LENGTH) {
            throw new IllegalArgumentException("length cannot exceed " + MAX_LENGTH + ", given "
                    + p.operands().get(1));
        }
        return new Args(p, offset, length);
    }

    private static long number(String s) {
        try {
            long v = Sizes.parse(s).value();
            if (v < 0) {
                throw new IllegalArgumentException("Parsing error: argument too large -- " + s);
            }
            return v;
        } catch (Sizes.SizeFormatException e) {
            throw new IllegalArgumentException(e.outOfRange() ? "Parsing error: argument too large -- " + s
                    : "Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- " + s);
        }
    }

    /** A pattern byte as qemu-io reads it (strtol, base 0: decimal, 0x hex or 0 octal) with its message. */
    private static int pattern(String p) {
        String t = p.startsWith("+") ? p.substring(1) : p;
        try {
            long v;
            if (t.startsWith("0x") || t.startsWith("0X")) {
                v = Long.parseLong(t.substring(2), 16);
            } else if (t.length() > 1 && t.startsWith("0")) {
                v = Long.parseLong(t.substring(1), 8);
            } else {
                v = Long.parseLong(t);
            }
            if (v >= 0 && v <= 255 && !t.isEmpty() && Character.isLetterOrDigit(t.charAt(t.length() - 1))) {
                return (int) v;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(p + " is not a valid pattern byte");
    }

    private void checkRange(String verb, long off, long len) {
        if (off + len > disk.size()) {
            throw new IllegalArgumentException(verb + " failed: Input/output error");
        }
    }

    private void read(List<String> words) throws IOException {
        // qemu-io's read takes -bCl:pP:qs:v; q2 io implements all but -b (the VM state area, which q2 does not
        // have); -p is a no-op in qemu-io too
        Args a = parse(IoCommand.READ, words);
        if (a == null) {
            return;
        }
        String l = a.opts().options().get('l');
        String s = a.opts().options().get('s');
        long patternCount = l == null ? 0 : number(l);
        long patternOffset = s == null ? 0 : number(s);
        if (a.pattern() == null && (l != null || s != null)) {
            throw new IoArgs.UsageException(null, IoCommand.READ.usage);
        }
        if (l == null) {
            patternCount = a.length() - patternOffset;
        }
        if (patternCount < 0 || patternCount + patternOffset > a.length()) {
            fail("pattern verification range exceeds end of read data");
            return;
        }
        Integer pattern = a.pattern() == null ? null : pattern(a.pattern());
        checkRange("read", a.offset(), a.length());
        long t0 = System.nanoTime();
        ByteBuffer b = ByteBuffer.allocate((int) a.length());
        disk.read(a.offset(), b);
        if (pattern != null) {
            byte p = (byte) (int) pattern;
            for (long i = patternOffset; i < patternOffset + patternCount; i++) {
                if (b.get((int) i) != p) {
                    fail("Pattern verification failed at offset " + (a.offset() + patternOffset) + ", "
                            + patternCount + " bytes");
                    break;
                }
            }
        }
        if (a.has('q')) {
            return;
        }
        if (a.has('v')) {
            IoOutput.dump(out, b, a.offset(), (int) a.length());
        }
        IoOutput.report(out, "read", a.offset(), a.length(), a.has('C'), t0);
    }

    private void write(List<String> words) throws IOException {
        // qemu-io's write takes -bcCfnpP:qs:uz; q2 io implements -c, -C, -f (the write, then a flush), -q, -u, -z,
        // -P and the no-op -p. -b (the VM state area, which q2 does not have), -n and -s are refused.
        Args a = parse(IoCommand.WRITE, words);
        if (a == null) {
            return;
        }
        if (a.has('f') && a.has('c')) {
            fail("-f and -b or -c cannot be specified at the same time");
            return;
        }
        if (a.has('z') && a.pattern() != null) {
            fail("Only one of -z, -P, and -s can be specified at the same time");
            return;
        }
        if (a.has('u') && !a.has('z')) {
            fail("-u requires -z to be specified");
            return;
        }
        Integer pattern = a.pattern() == null ? null : pattern(a.pattern());
        checkRange("write", a.offset(), a.length());
        long t0 = System.nanoTime();
        if (a.has('z')) {
            disk.writeZeroes(a.offset(), a.length(), a.has('u'));
        } else {
            byte[] data = new byte[(int) a.length()];
            java.util.Arrays.fill(data, (byte) (pattern == null ? 0xcd : (int) pattern));
            if (a.has('c') && disk.qcow2() == null) {
                fail("write failed: Operation not supported");   // the raw format has no compressed writes
                return;
            } else if (a.has('c')) {
                Qcow2Disk q = disk.qcow2();
                int cs = (int) q.header().clusterSize();
                for (long off = 0; off < a.length(); off += cs) {
                    q.writeCompressed(a.offset() + off, java.util.Arrays.copyOfRange(data, (int) off,
                            (int) off + cs));
                }
            } else {
                disk.write(a.offset(), ByteBuffer.wrap(data));
            }
        }
        if (a.has('f')) {
            disk.flush();   // FUA: the request is on disk when it completes
        }
        if (!a.has('q')) {
            IoOutput.report(out, "wrote", a.offset(), a.length(), a.has('C'), t0);
        }
    }

    private void discard(List<String> words) throws IOException {
        Args a = parse(IoCommand.DISCARD, words);
        if (a == null) {
            return;
        }
        checkRange("discard", a.offset(), a.length());
        long t0 = System.nanoTime();
        disk.discard(a.offset(), a.length());
        if (!a.has('q')) {
            IoOutput.report(out, "discard", a.offset(), a.length(), a.has('C'), t0);
        }
    }

    /** {@code alloc OFFSET [COUNT]}: COUNT defaults to one sector. */
    private void alloc(List<String> words) throws IOException {
        if (!argCount("alloc", words, 1, 2)) {
            return;
        }
        long offset = number(words.get(0));
        long count = words.size() == 2 ? number(words.get(1)) : 512;
        disk.flush();
        queries().alloc(out, offset, count);
    }

    /**
     * {@code open [-rnkU] [-t cache] [-i aio] [-o driver=qcow2|raw] FILE}: qemu-io's open of another image once the
     * current one is closed. -s (snapshot), -C (copy-on-read), -d (discard mode) and block options other than
     * the driver are refused.
     */
    private void openCommand(List<String> words) {
        if (!argCount("open", words, 1, -1)) {
            return;
        }
        IoArgs.Parsed p = IoCommand.OPEN.getopt(words);
        boolean readOnly = p.has('r');
        String cache = p.options().getOrDefault('t', p.has('n') ? "none" : "writeback");
        boolean direct;
        switch (cache) {
            case "none", "off", "directsync" -> direct = true;
            case "writeback", "writethrough", "unsafe" -> direct = false;
            default -> {
                failErr("q2: Invalid cache option: " + cache);
                return;
            }
        }
        String aio = p.options().getOrDefault('i', p.has('k') ? "native" : "threads");
        if (!aio.equals("threads") && !aio.equals("native") && !aio.equals("io_uring")) {
            failErr("q2: Invalid aio option: " + aio);
            return;
        }
        if (p.operands().size() > 1) {
            throw new IoArgs.UsageException(null, IoCommand.OPEN.usage);
        }
        if (disk != null) {
            failErr("q2: file open already, try 'help close'");
            return;
        }
        if (p.operands().isEmpty()) {
            // qemu-io then opens what the -o options describe (with none: this line); q2 io opens files by name
            failErr("q2: can't open: Must specify either driver or file");
            return;
        }
        String name = p.operands().get(0);
        String format = null;
        java.util.Map<String, String> cacheOptions = new java.util.HashMap<>();
        String unsupported = null;
        if (p.options().get('o') != null) {
            for (String kv : p.options().get('o').split(",")) {
                String key = kv.contains("=") ? kv.substring(0, kv.indexOf('=')) : kv;
                String value = kv.contains("=") ? kv.substring(kv.indexOf('=') + 1) : "on";
                if (key.equals("driver") && (value.equals("qcow2") || value.equals("raw"))) {
                    format = value;
                } else if (CacheOptions.KEYS.contains(key) || key.equals("encrypt.key-secret")
                        || key.equals("backing.encrypt.key-secret")) {
                    cacheOptions.put(key, value); // key secrets: the opener takes them out (dev.q2.crypto)
                } else if (unsupported == null) {
                    unsupported = key.equals("driver") ? key + "=" + value : key;
                }
            }
        }
        if (unsupported != null) {
            String fmt = format == null ? "qcow2" : format;
            failErr("q2: can't open device " + name + ": " + (IoArgs.knownToQemu(unsupported, fmt)
                    ? "q2 io does not support the option '" + unsupported + "'"
                    : "Block format '" + fmt + "' does not support the option '" + unsupported + "'"));
            return;
        }
        if (p.has('U') && !readOnly) {
            failErr("q2: can't open device " + name + ": force-share=on can only be used with read-only images");
            return;
        }
        if (aio.equals("native") && !direct) {
            failErr("q2: can't open device " + name
                    + ": aio=native was specified, but it requires cache.direct=on, which was not specified.");
            return;
        }
        if (opener == null) {
            throw new IllegalArgumentException("q2 io: open is not available here");
        }
        if (!open(name, format, cacheOptions, readOnly, p.has('U'))) {
            failed = true;
        }
    }

    /**
     * readv, writev, aio_read and aio_write: {@code CMD [options] off len [len..]}, the lengths of the buffers one
     * request reads or writes at {@code off}; the request's bytes are their sum. q2 io implements -C, -q, -v, -P,
     * -f (a flush after the write) and aio_write's -z and -u; qemu-io's -i (accounting) is refused.
     */
    private void vectored(IoCommand command, List<String> words, boolean write) throws IOException {
        String cmd = command.command;
        if (!argCount(cmd, words, 2, -1) || !permitted(cmd)) {
            return;
        }
        IoArgs.Parsed p = command.getopt(words);
        if (p.operands().size() < 2) {
            throw new IoArgs.UsageException(null, command.usage);
        }
        if (p.has('u') && !p.has('z')) {
            fail("-u requires -z to be specified");
            return;
        }
        if (p.has('z') && p.operands().size() > 2) {
            fail("-z supports only a single length parameter");
            return;
        }
        long offset = number(p.operands().get(0));
        long total = 0;
        for (String len : p.operands().subList(1, p.operands().size())) {
            long n = number(len);
            if (n > MAX_LENGTH) {
                fail("Argument '" + len + "' exceeds maximum size " + MAX_LENGTH);
                return;
            }
            total += n;
        }
        if (total > MAX_LENGTH) {
            fail("length cannot exceed " + MAX_LENGTH + ", given " + total);
            return;
        }
        Integer pattern = p.options().get('P') == null || p.has('z') ? null : pattern(p.options().get('P'));
        String failure = write ? (cmd.equals("aio_write") ? "aio_write" : "writev") : "readv";
        // An aio request fails after its command returned: qemu-io prints the failure but exits with 0.
        boolean aio = cmd.startsWith("aio_");
        if (offset + total > disk.size()) {
            out.println(failure + " failed: Input/output error");
            failed |= !aio;
            return;
        }
        long t0 = System.nanoTime();
        ByteBuffer b = null;
        if (write) {
            if (p.has('z')) {
                disk.writeZeroes(offset, total, p.has('u'));
            } else {
                byte[] data = new byte[(int) total];
                java.util.Arrays.fill(data, (byte) (pattern == null ? 0xcd : (int) pattern));
                disk.write(offset, ByteBuffer.wrap(data));
            }
            if (p.has('f')) {
                disk.flush();
            }
        } else {
            b = ByteBuffer.allocate((int) total);
            disk.read(offset, b);
            if (pattern != null) {
                for (int i = 0; i < total; i++) {
                    if (b.get(i) != (byte) (int) pattern) {
                        out.println("Pattern verification failed at offset " + offset + ", " + total + " bytes");
                        failed |= !aio;
                        break;
                    }
                }
            }
        }
        if (p.has('q')) {
            return;
        }
        if (p.has('v') && b != null) {
            IoOutput.dump(out, b, offset, (int) total);
        }
        IoOutput.report(out, write ? "wrote" : "read", offset, total, p.has('C'), t0);
    }

    /**
     * A byte count in qemu-io's words (its cvtstr): the largest binary unit it reaches, three decimals, ".000"
     * dropped: "1000 bytes", "1 KiB", "1.500 KiB", "1.001 MiB". Not qemu-img's "%0.3g" wording.
     */
    public static String size(long bytes) {
        return IoOutput.size(bytes < 0 ? bytes + 0x1p64 : bytes);
    }
}
