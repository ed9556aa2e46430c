package dev.q2.guestio;

import dev.q2.image.CorruptMetadataException;
import dev.q2.image.DiskUnusableException;
import dev.q2.image.Qcow2Disk;
import dev.q2.util.Sizes;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Runs qemu-io style commands against a disk: {@code read [-P pattern] [-q] OFF LEN}, {@code write [-P pattern]
 * [-z] [-u] [-c] [-q] OFF LEN}, {@code discard [-q] OFF LEN}, {@code flush}, {@code length}. Numbers take qemu's
 * size suffixes; options are read as qemu-io's getopt reads them, and those q2 io does not implement are refused.
 * Output lines follow qemu-io's ("wrote 4096/4096 bytes at offset 0" and a statistics line).
 */
public final class IoScript {
    /** qemu-io's one-line usage of each command, printed after an option error. */
    private static final String READ_USAGE = "read [-abCqv] [-P pattern [-s off] [-l len]] off len -- reads a number"
            + " of bytes at a specified offset";
    private static final String WRITE_USAGE = "write [-bcCfnquz] [-P pattern | -s source_file] off len -- writes a"
            + " number of bytes at a specified offset";
    private static final String DISCARD_USAGE = "discard [-Cq] off len -- discards a number of bytes at a specified"
            + " offset";

    private static final String READV_USAGE = "readv [-Cqv] [-P pattern] off len [len..] -- reads a number of bytes"
            + " at a specified offset";
    private static final String WRITEV_USAGE = "writev [-Cfq] [-P pattern] off len [len..] -- writes a number of"
            + " bytes at a specified offset";
    private static final String AIO_READ_USAGE = "aio_read [-Ciqv] [-P pattern] off len [len..] -- asynchronously"
            + " reads a number of bytes";
    private static final String AIO_WRITE_USAGE = "aio_write [-Cfiquz] [-P pattern] off len [len..] --"
            + " asynchronously writes a number of bytes";

    /** qemu-io's limit on one request (BDRV_REQUEST_MAX_BYTES). */
    private static final long MAX_LENGTH = 2147483136L;

    private final Qcow2Disk disk;
    private final PrintWriter out;
    private final PrintWriter err;
    private boolean failed;
    private boolean quit;

    /** A script whose messages all go to {@code out}. */
    public IoScript(Qcow2Disk disk, PrintWriter out) {
        this(disk, out, out);
    }

    /**
     * A script that reports as qemu-io does: results and most errors on {@code out}; usage errors and QEMU's qcow2
     * driver lines (a corrupt image) on {@code err}.
     */
    public IoScript(Qcow2Disk disk, PrintWriter out, PrintWriter err) {
        this.disk = disk;
        this.out = out;
        this.err = err;
    }

    /** True once {@code quit} ran: qemu-io runs no command after it. */
    public boolean quit() {
        return quit;
    }

    /** True once any command failed (qemu-io then exits with 1). */
    public boolean failed() {
        return failed;
    }

    /** Runs one command line; errors are reported on {@code out} and remembered, not thrown. */
    public void run(String line) throws IOException {
        List<String> words = new ArrayList<>(List.of(line.trim().split("\\s+")));
        if (words.isEmpty() || words.get(0).isEmpty()) {
            return;
        }
        String cmd = words.remove(0);
        try {
            switch (cmd) {
                case "read", "r" -> read(words);
                case "write", "w" -> write(words);
                case "discard", "d" -> discard(words);
                case "flush", "f" -> {
                    if (argCount("flush", words, 0, 0)) {
                        disk.flush();
                    }
                }
                case "readv" -> vectored("readv", words, false, "qP:", READV_USAGE);
                case "writev" -> vectored("writev", words, true, "qP:", WRITEV_USAGE);
                // q2 io completes aio requests before the next command, in order (qemu-io may complete them later
                // and in another order); their output is that of readv and writev
                case "aio_read" -> vectored("aio_read", words, false, "qP:", AIO_READ_USAGE);
                case "aio_write" -> vectored("aio_write", words, true, "quzP:", AIO_WRITE_USAGE);
                case "aio_flush" -> {
                    if (argCount("aio_flush", words, 0, 0)) {
                        disk.flush();
                    }
                }
                case "quit", "exit", "q" -> quit = true;   // (qemu-io ignores words after it)
                case "length", "l" -> {
                    if (argCount("length", words, 0, 0)) {
                        out.println(size(disk.size()));
                    }
                }
                default -> failErr("command \"" + cmd + "\" not found");
            }
        } catch (UsageException e) {
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
                err.println(e.qemuReport());
                err.flush();
            }
            fail(verb(cmd) + " failed: Input/output error");
        } catch (DiskUnusableException e) {
            fail(verb(cmd) + " failed: " + e.getMessage());
        }
        out.flush();
        err.flush();
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

    /** An option error: qemu-io prints getopt's message on stderr and the command's usage on stdout. */
    private static final class UsageException extends IllegalArgumentException {
        final String usage;

        UsageException(String message, String usage) {
            super(message);
            this.usage = usage;
        }
    }

    /** A command's options and operands, read as qemu-io's getopt reads them. */
    record Parsed(java.util.Map<Character, String> options, List<String> operands) {
        boolean has(char c) {
            return options.containsKey(c);
        }
    }

    /**
     * Reads {@code words} as GNU getopt does with {@code optstring} ("P:" takes a value): flags may be clustered
     * ("-qz"), a value may be attached ("-P0xcd") or the next word, options may follow operands, and "--" ends
     * them. q2 io's optstrings hold only what it implements, so a qemu-io option that q2 io does not implement is
     * refused as qemu-io refuses an unknown one, never ignored.
     */
    static Parsed getopt(String cmd, List<String> words, String optstring, String usage) {
        java.util.Map<Character, String> options = new java.util.LinkedHashMap<>();
        List<String> operands = new ArrayList<>();
        for (int i = 0; i < words.size(); i++) {
            String w = words.get(i);
            if (w.equals("--")) {
                operands.addAll(words.subList(i + 1, words.size()));
                break;
            }
            if (!w.startsWith("-") || w.length() == 1) {
                operands.add(w);
                continue;
            }
            for (int j = 1; j < w.length(); j++) {
                char c = w.charAt(j);
                int at = optstring.indexOf(c);
                if (c == ':' || at < 0) {
                    throw new UsageException(cmd + ": invalid option -- '" + c + "'", usage);
                }
                if (at + 1 < optstring.length() && optstring.charAt(at + 1) == ':') {
                    String value;
                    if (j + 1 < w.length()) {
                        value = w.substring(j + 1);
                    } else if (i + 1 < words.size()) {
                        value = words.get(++i);
                    } else {
                        throw new UsageException(cmd + ": option requires an argument -- '" + c + "'", usage);
                    }
                    options.put(c, value);
                    break;
                }
                options.put(c, "");
            }
        }
        return new Parsed(options, operands);
    }

    private record Args(Parsed opts, long offset, long length) {
        boolean has(char c) {
            return opts.has(c);
        }

        String pattern() {
            return opts.options().get('P');
        }
    }

    /** A command of the form {@code CMD [options] off len}. */
    private Args parse(String cmd, List<String> words, String optstring, String usage) {
        if (!argCount(cmd, words, 2, -1)) {
            return null;
        }
        Parsed p = getopt(cmd, words, optstring, usage);
        if (p.operands().size() != 2) {
            throw new UsageException(null, usage);
        }
        long length = number(p.operands().get(1));
        if (length > MAX_LENGTH) {
            throw new IllegalArgumentException("length cannot exceed " + MAX_LENGTH + ", given "
                    + p.operands().get(1));
        }
        return new Args(p, number(p.operands().get(0)), length);
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
        // qemu-io's read takes -bCqpvP:l:s:; q2 io implements -q, -P and the no-op -p
        Args a = parse("read", words, "pqP:", READ_USAGE);
        if (a == null) {
            return;
        }
        Integer pattern = a.pattern() == null ? null : pattern(a.pattern());
        checkRange("read", a.offset(), a.length());
        long t0 = System.nanoTime();
        ByteBuffer b = ByteBuffer.allocate((int) a.length());
        disk.read(a.offset(), b);
        if (pattern != null) {
            byte p = (byte) (int) pattern;
            for (int i = 0; i < a.length(); i++) {
                if (b.get(i) != p) {
                    fail("Pattern verification failed at offset " + a.offset() + ", " + a.length() + " bytes");
                    break;
                }
            }
        }
        report("read", a, t0);
    }

    private void write(List<String> words) throws IOException {
        // qemu-io's write takes -bcCfnpquzP:s:; q2 io implements -c, -q, -u, -z, -P and the no-op -p. -b (the VM
        // state area) in particular is refused: q2 has no VM state area.
        Args a = parse("write", words, "cpquzP:", WRITE_USAGE);
        if (a == null) {
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
            if (a.has('c')) {
                int cs = (int) disk.header().clusterSize();
                for (long off = 0; off < a.length(); off += cs) {
                    disk.writeCompressed(a.offset() + off, java.util.Arrays.copyOfRange(data, (int) off,
                            (int) off + cs));
                }
            } else {
                disk.write(a.offset(), ByteBuffer.wrap(data));
            }
        }
        report("wrote", a, t0);
    }

    private void discard(List<String> words) throws IOException {
        // qemu-io's discard takes -Cq; q2 io implements -q
        Args a = parse("discard", words, "q", DISCARD_USAGE);
        if (a == null) {
            return;
        }
        checkRange("discard", a.offset(), a.length());
        long t0 = System.nanoTime();
        disk.discard(a.offset(), a.length(), false);
        report("discard", a, t0);
    }

    private void report(String verb, Args a, long t0) {
        report(verb, a.offset(), a.length(), a.has('q'), t0);
    }

    private void report(String verb, long offset, long length, boolean quiet, long t0) {
        if (quiet) {
            return;
        }
        double secs = Math.max(1e-9, (System.nanoTime() - t0) / 1e9);
        out.printf("%s %d/%d bytes at offset %d%n", verb, length, length, offset);
        out.printf(Locale.ROOT, "%s, 1 ops; %s sec (%.3f MiB/sec and %.4f ops/sec)%n",
                size(length), String.format(Locale.ROOT, "%05.2f", secs), length / secs / (1 << 20), 1 / secs);
    }

    /**
     * readv, writev, aio_read and aio_write: {@code CMD [options] off len [len..]}, the lengths of the buffers one
     * request reads or writes at {@code off}; the request's bytes are their sum. q2 io implements -q and -P (and
     * aio_write's -z and -u); qemu-io's -C, -f, -i and -v are refused.
     */
    private void vectored(String cmd, List<String> words, boolean write, String optstring, String usage)
            throws IOException {
        if (!argCount(cmd, words, 2, -1)) {
            return;
        }
        Parsed p = getopt(cmd, words, optstring, usage);
        if (p.operands().size() < 2) {
            throw new UsageException(null, usage);
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
        if (write) {
            if (p.has('z')) {
                disk.writeZeroes(offset, total, p.has('u'));
            } else {
                byte[] data = new byte[(int) total];
                java.util.Arrays.fill(data, (byte) (pattern == null ? 0xcd : (int) pattern));
                disk.write(offset, ByteBuffer.wrap(data));
            }
        } else {
            ByteBuffer b = ByteBuffer.allocate((int) total);
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
        report(write ? "wrote" : "read", offset, total, p.has('q'), t0);
    }

    /**
     * A byte count in qemu-io's words (its cvtstr): the largest binary unit it reaches, three decimals, ".000"
     * dropped: "1000 bytes", "1 KiB", "1.500 KiB", "1.001 MiB". Not qemu-img's "%0.3g" wording.
     */
    public static String size(long bytes) {
        String[] units = {" EiB", " PiB", " TiB", " GiB", " MiB", " KiB"};
        double v = bytes < 0 ? bytes + 0x1p64 : bytes;
        String suffix = " bytes";
        for (int i = 0; i < units.length; i++) {
            double unit = Math.scalb(1.0, 60 - 10 * i);
            if (v >= unit) {
                v /= unit;
                suffix = units[i];
                break;
            }
        }
        String text = String.format(Locale.ROOT, "%.3f", v);
        int trim = text.indexOf(".000");
        return (trim >= 0 ? text.substring(0, trim) : text) + suffix;
    }
}
