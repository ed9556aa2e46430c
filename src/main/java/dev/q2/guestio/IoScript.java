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
    static final long MAX_LENGTH = 2147483136L;

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
    private final SessionCommands session = new SessionCommands(this);
    private final VectoredCommands vectored = new VectoredCommands(this);
    private GuestDisk disk;
    private String filename;
    private boolean readOnly;
    private boolean failed;
    private boolean quit;
    /** How the open disk was opened (null for a disk given to the constructor). */
    private OpenSpec opened;
    /** The temporary overlay of snapshot mode (-s), deleted on close; null otherwise. */
    private Path overlay;
    /** qemu-io's cache mode writes through (its default): every write is flushed before it completes. */
    private boolean writethrough = true;
    /** What sigraise does: nothing ends the process unless the owner of the process says so ({@link #onHalt}). */
    private java.util.function.IntConsumer halter = new java.util.function.IntConsumer() {
        @Override
        public void accept(int status) {
            throw new IllegalArgumentException("q2 io: sigraise would end the process; this script may not");
        }
    };

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

    /** A script on an open guest disk (a raw file, or a disk read with copy-on-read), reporting as above. */
    IoScript(GuestDisk disk, PrintWriter out, PrintWriter err) {
        this((Opener) null, out, err);
        this.disk = disk;
    }

    /** A script with no image open yet: {@link #open} (or the {@code open} command) opens one through {@code opener}. */
    public IoScript(Opener opener, PrintWriter out, PrintWriter err) {
        this.opener = opener;
        this.out = out;
        this.err = err;
    }

    /** Opens {@code name} as qemu-io's file operand does; false (the error reported) if it cannot. */
    public boolean open(String name, boolean readOnly, boolean forceShare) {
        return open(name, readOnly, forceShare, false, false);
    }

    /**
     * Opens {@code name} as qemu-io's file operand does, with its -s (snapshot mode: writes go to a temporary
     * overlay, the image stays as it is) and -C (copy-on-read); false (the error reported) if it cannot.
     */
    public boolean open(String name, boolean readOnly, boolean forceShare, boolean snapshot, boolean copyOnRead) {
        return openWith(new OpenSpec(name, null, java.util.Map.of(), readOnly, forceShare, snapshot, copyOnRead));
    }

    /**
     * As {@link #open(String, boolean, boolean, boolean, boolean)} with block options (qemu-io's --image-opts
     * operand, or open -o): {@code name} may then be null.
     */
    public boolean open(String name, java.util.Map<String, String> options, boolean readOnly, boolean forceShare,
                        boolean snapshot, boolean copyOnRead) {
        if (name == null && options.isEmpty()) {
            err.println("q2: can't open: Must specify either driver or file");
            return false;
        }
        return openWith(new OpenSpec(name, null, options, readOnly, forceShare, snapshot, copyOnRead));
    }

    /** qemu-io's cache mode: true (its default) when every write is flushed before it completes. */
    public void writethrough(boolean on) {
        writethrough = on;
    }

    /**
     * What {@code sigraise} does to end the process with a status: q2 io's command line halts the JVM (no clean
     * close); by default the command fails instead, so that a script run inside an application cannot end it.
     */
    public void onHalt(java.util.function.IntConsumer h) {
        halter = h;
    }

    boolean openWith(OpenSpec spec) {
        DiskOpening.Opened o = DiskOpening.open(opener, spec, err);
        if (o == null) {
            return false;
        }
        overlay = o.overlay();
        return adopt(o.disk(), spec);
    }

    private boolean adopt(GuestDisk d, OpenSpec spec) {
        disk = d;
        filename = spec.name();
        try {
            // the file a json: or -o name opened
            filename = dev.q2.block.ImageName.parse(spec.name(), spec.options()).filename();
        } catch (dev.q2.image.ImageException e) {
            // the opener read it already: not reached
        }
        opened = spec;
        this.readOnly = spec.readOnly() || spec.forceShare();
        return true;
    }

    /** Opens the image as {@code spec} says, again (reopen, truncate): snapshot mode keeps its overlay. */
    boolean openAgain(OpenSpec spec) {
        if (overlay == null) {
            return openWith(spec);
        }
        GuestDisk d = DiskOpening.reopenOverlay(opener, overlay, spec, err);
        if (d == null) {
            deleteOverlay();
            return false;
        }
        return adopt(d, spec);
    }

    /**
     * Reopens the image as {@code next} says; when that fails, opens it again as it was (QEMU's reopen is a
     * transaction) and returns false.
     */
    boolean reopenAs(OpenSpec next) throws IOException {
        OpenSpec before = opened;
        closeForReopen();
        if (openAgain(next)) {
            return true;
        }
        failed = true;
        openAgain(before);
        return false;
    }

    /** Closes the disk cleanly but keeps snapshot mode's overlay, to open it again. */
    void closeForReopen() throws IOException {
        if (disk != null) {
            GuestDisk d = disk;
            disk = null;
            try (d) {
                d.flush();
            }
        }
    }

    /** The file that holds what q2 io writes: the image, or snapshot mode's overlay. */
    Path hostFile() {
        return overlay != null ? overlay : opener.workDir().resolve(opened.name());
    }

    OpenSpec opened() {
        return opened;
    }

    PrintWriter out() {
        return out;
    }

    PrintWriter err() {
        return err;
    }

    /** Whether every write is flushed before it completes (qemu-io's default write-through cache mode). */
    boolean writesThrough() {
        return writethrough;
    }

    void markFailed() {
        failed = true;
    }

    /** What drains a buffered stdout before sigraise ends the process ({@link StdioBuffer}). */
    private Runnable stdoutDrain = () -> { };

    /** Sets what drains a buffered stdout (sigraise flushes stdout before it raises the signal, as qemu-io does). */
    public void onStdoutDrain(Runnable drain) {
        stdoutDrain = drain;
    }

    void drainStdout() {
        out.flush();
        stdoutDrain.run();
    }

    void halt(int status) {
        halter.accept(status);
    }

    private void deleteOverlay() {
        if (overlay != null) {
            try {
                java.nio.file.Files.deleteIfExists(overlay);
            } catch (IOException e) {
                // a temporary file left behind, as QEMU leaves one when it cannot delete it
            }
            overlay = null;
        }
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
            } finally {
                deleteOverlay();
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
        } catch (DiskUnusableException | OverlapCheck.Failed e) {
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
        return !List.of("open", "o", "quit", "exit", "q", "sigraise").contains(cmd);
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
            case "readv" -> vectored.run(IoCommand.READV, words, false);
            case "writev" -> vectored.run(IoCommand.WRITEV, words, true);
            // q2 io completes aio requests before the next command, in order (qemu-io may complete them later
            // and in another order); their output is that of readv and writev
            case "aio_read" -> vectored.run(IoCommand.AIO_READ, words, false);
            case "aio_write" -> vectored.run(IoCommand.AIO_WRITE, words, true);
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
            case "open", "o" -> {
                if (opener == null) {
                    throw new IllegalArgumentException("q2 io: open is not available here");
                }
                session.open(words);
            }
            case "reopen" -> session.reopen(words);
            case "truncate", "t" -> session.truncate(words);
            case "sigraise" -> session.sigraise(words);
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
                "open", "o", "close", "c", "reopen", "truncate", "t", "sigraise").contains(cmd);
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

    void fail(String message) {
        out.println(message);
        failed = true;
    }

    void failErr(String message) {
        out.flush();
        err.println(message);
        err.flush();
        failed = true;
    }

    /** qemu-io's check of a command's argument count (options included), made before its options are read. */
    boolean argCount(String cmd, List<String> words, int min, int max) {
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
    boolean permitted(String cmd) {
        if (readOnly && List.of("write", "w", "writev", "aio_write", "discard", "d", "truncate").contains(cmd)) {
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

    static long number(String s) {
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
    static int pattern(String p) {
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
        // qemu-io's read takes -bCl:pP:qs:v; -b reads the VM state area (Qcow2Disk#readVmState); -p is a no-op in
        // qemu-io too
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
        if (a.has('b') && !sectorAligned(a)) {
            return;
        }
        Integer pattern = a.pattern() == null ? null : pattern(a.pattern());
        if (!a.has('b')) {
            checkRange("read", a.offset(), a.length());
        }
        long t0 = System.nanoTime();
        ByteBuffer b = ByteBuffer.allocate((int) a.length());
        if (!a.has('b')) {
            disk.read(a.offset(), b);
        } else if (!vmState("read", a.offset(), b, false)) {
            return;
        }
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
        // qemu-io's write takes -bcCfnpP:qs:uz; q2 io implements -b (the VM state area: Qcow2Disk#writeVmState), -c,
        // -C, -f (the write, then a flush), -q, -u, -z, -P and the no-op -p. -n and -s are refused.
        Args a = parse(IoCommand.WRITE, words);
        if (a == null) {
            return;
        }
        if (a.has('b') && a.has('z')) {
            fail("-b and -z cannot be specified at the same time");
            return;
        }
        if (a.has('f') && (a.has('c') || a.has('b'))) {
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
        if ((a.has('b') || a.has('c')) && !sectorAligned(a)) {
            return;
        }
        Integer pattern = a.pattern() == null ? null : pattern(a.pattern());
        if (!a.has('b')) {
            checkRange("write", a.offset(), a.length());
        }
        long t0 = System.nanoTime();
        if (a.has('b')) {
            byte[] data = new byte[(int) a.length()];
            java.util.Arrays.fill(data, (byte) (pattern == null ? 0xcd : (int) pattern));
            if (!vmState("write", a.offset(), ByteBuffer.wrap(data), true)) {
                return;
            }
        } else if (a.has('z')) {
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
        if (a.has('f') || writethrough) {
            disk.flush();   // FUA, or a write-through cache: the request is on disk when it completes
        }
        if (!a.has('q')) {
            IoOutput.report(out, "wrote", a.offset(), a.length(), a.has('C'), t0);
        }
    }

    /** qemu-io's check of a VM state or compressed request: offset and count in whole sectors. */
    private boolean sectorAligned(Args a) {
        if ((a.offset() & 511) != 0) {
            fail(a.offset() + " is not a sector-aligned value for 'offset'");
            return false;
        }
        if ((a.length() & 511) != 0) {
            fail(a.length() + " is not a sector-aligned value for 'count'");
            return false;
        }
        return true;
    }

    /**
     * read -b and write -b: the VM state area of a qcow2 image (a raw file has none: qemu-io's "Operation not
     * supported"); false when the request failed (reported).
     */
    private boolean vmState(String verb, long pos, ByteBuffer b, boolean write) throws IOException {
        Qcow2Disk q = disk.qcow2();
        if (q == null) {
            fail(verb + " failed: Operation not supported");
            return false;
        }
        try {
            if (write) {
                q.writeVmState(pos, b);
            } else {
                q.readVmState(pos, b);
            }
        } catch (dev.q2.image.ImageException e) {
            if (e.getMessage() == null || !e.getMessage().contains("File too large")) {
                throw e;
            }
            // QEMU 7.2 cuts the L1 index of such a request to 32 bits and writes elsewhere; q2 refuses it
            fail(verb + " failed: File too large");
            return false;
        }
        return true;
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
     * A byte count in qemu-io's words (its cvtstr): the largest binary unit it reaches, three decimals, ".000"
     * dropped: "1000 bytes", "1 KiB", "1.500 KiB", "1.001 MiB". Not qemu-img's "%0.3g" wording.
     */
    public static String size(long bytes) {
        return IoOutput.size(bytes < 0 ? bytes + 0x1p64 : bytes);
    }
}
