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
 * [-z] [-u] [-c] [-q] OFF LEN}, {@code discard [-q] OFF LEN}, {@code flush}. Numbers take qemu's size suffixes.
 * Output lines follow qemu-io's ("wrote 4096/4096 bytes at offset 0" and a statistics line).
 */
public final class IoScript {
    private final Qcow2Disk disk;
    private final PrintWriter out;
    private final PrintWriter err;
    private boolean failed;

    public IoScript(Qcow2Disk disk, PrintWriter out) {
        this(disk, out, out);
    }

    /** @param err where QEMU's qcow2 driver lines go (a corrupt image) */
    public IoScript(Qcow2Disk disk, PrintWriter out, PrintWriter err) {
        this.disk = disk;
        this.out = out;
        this.err = err;
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
                case "flush", "f" -> disk.flush();
                default -> fail("command \"" + cmd + "\" not found");
            }
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

    private record Args(List<String> flags, String pattern, long offset, long length) {
    }

    private Args parse(String cmd, List<String> words, String flagsWithValue) {
        List<String> flags = new ArrayList<>();
        String pattern = null;
        List<String> pos = new ArrayList<>();
        for (int i = 0; i < words.size(); i++) {
            String w = words.get(i);
            if (w.startsWith("-") && w.length() == 2) {
                if (flagsWithValue.contains(w.substring(1))) {
                    if (i + 1 >= words.size()) {
                        throw new IllegalArgumentException(cmd + ": option requires an argument -- '"
                                + w.charAt(1) + "'");
                    }
                    pattern = words.get(++i);
                } else {
                    flags.add(w);
                }
            } else {
                pos.add(w);
            }
        }
        if (pos.size() != 2) {
            throw new IllegalArgumentException("bad argument count " + pos.size() + " to " + cmd
                    + ", expected 2 arguments");
        }
        return new Args(flags, pattern, number(pos.get(0)), number(pos.get(1)));
    }

    private static long number(String s) {
        try {
            long v = Sizes.parse(s).value();
            if (v < 0) {
                throw new IllegalArgumentException("non-numeric argument -- " + s);
            }
            return v;
        } catch (Sizes.SizeFormatException e) {
            throw new IllegalArgumentException("non-numeric length argument -- " + s);
        }
    }

    private static int pattern(String p) {
        try {
            return p.toLowerCase(Locale.ROOT).startsWith("0x") ? Integer.parseInt(p.substring(2), 16)
                    : Integer.decode(p);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("non-numeric pattern -- " + p);
        }
    }

    private void checkRange(String verb, long off, long len) {
        if (off + len > disk.size()) {
            throw new IllegalArgumentException(verb + " failed: Input/output error");
        }
    }

    private void read(List<String> words) throws IOException {
        Args a = parse("read", words, "P");
        checkRange("read", a.offset(), a.length());
        long t0 = System.nanoTime();
        ByteBuffer b = ByteBuffer.allocate((int) a.length());
        disk.read(a.offset(), b);
        if (a.pattern() != null) {
            byte p = (byte) pattern(a.pattern());
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
        Args a = parse("write", words, "P");
        checkRange("write", a.offset(), a.length());
        long t0 = System.nanoTime();
        if (a.flags().contains("-z")) {
            disk.writeZeroes(a.offset(), a.length(), a.flags().contains("-u"));
        } else {
            byte[] data = new byte[(int) a.length()];
            java.util.Arrays.fill(data, (byte) (a.pattern() == null ? 0xcd : pattern(a.pattern())));
            if (a.flags().contains("-c")) {
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
        Args a = parse("discard", words, "");
        checkRange("discard", a.offset(), a.length());
        long t0 = System.nanoTime();
        disk.discard(a.offset(), a.length(), false);
        report("discard", a, t0);
    }

    private void report(String verb, Args a, long t0) {
        if (a.flags().contains("-q")) {
            return;
        }
        double secs = Math.max(1e-9, (System.nanoTime() - t0) / 1e9);
        out.printf("%s %d/%d bytes at offset %d%n", verb, a.length(), a.length(), a.offset());
        out.printf(Locale.ROOT, "%s, 1 ops; %s sec (%.3f MiB/sec and %.4f ops/sec)%n",
                Sizes.humanSize(a.length()).replace(" B", " bytes"), String.format(Locale.ROOT, "%05.2f", secs),
                a.length() / secs / (1 << 20), 1 / secs);
    }
}
