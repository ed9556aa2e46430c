package dev.q2.inspect;

import dev.q2.testutil.Cli;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Images for the inspect tests, made with q2's own create and io (no qemu-img), and byte patches to them. */
final class Images {
    // qcow2 header fields
    static final int BACKING_FILE_OFFSET = 8;
    static final int SIZE = 24;
    static final int CRYPT_METHOD = 32;
    static final int L1_SIZE = 36;
    static final int L1_TABLE_OFFSET = 40;
    static final int REFCOUNT_TABLE_OFFSET = 48;
    static final int REFCOUNT_TABLE_CLUSTERS = 56;
    static final int NB_SNAPSHOTS = 60;
    static final int SNAPSHOTS_OFFSET = 64;
    static final int INCOMPATIBLE_FEATURES = 72;

    private Images() {
    }

    /** q2 create (qcow2, 64 KiB clusters unless given) with its arguments; then the given q2 io commands. */
    static Path qcow2(Path dir, String name, List<String> createArgs, String... ioCommands) {
        String[] args = new String[createArgs.size() + 4];
        args[0] = "create";
        args[1] = "-q";
        for (int i = 0; i < createArgs.size(); i++) {
            args[2 + i] = createArgs.get(i);
        }
        args[args.length - 2] = name;
        args[args.length - 1] = "16M";
        Cli.Result r = Cli.runIn(dir, args);
        assertThat(r.exitCode()).as(r.err()).isZero();
        for (String c : ioCommands) {
            Cli.Result w = Cli.runIn(dir, "io", "-c", c, name);
            assertThat(w.exitCode()).as(w.err()).isZero();
        }
        return dir.resolve(name);
    }

    static long readLong(Path p, long pos) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "r")) {
            f.seek(pos);
            return f.readLong();
        }
    }

    static void writeLong(Path p, long pos, long v) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.seek(pos);
            f.writeLong(v);
        }
    }

    static void writeInt(Path p, long pos, int v) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.seek(pos);
            f.writeInt(v);
        }
    }

    static void setBits(Path p, long pos, long bits) throws IOException {
        writeLong(p, pos, readLong(p, pos) | bits);
    }

    /** Replaces the first occurrence of {@code from} (ASCII) in the file's first MiB with {@code to}, same length. */
    static void replaceName(Path p, String from, String to) throws IOException {
        assertThat(to).hasSameSizeAs(from);
        byte[] b = Files.readAllBytes(p);
        byte[] f = from.getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i + f.length <= Math.min(b.length, 1 << 20); i++) {
            boolean match = true;
            for (int k = 0; k < f.length && match; k++) {
                match = b[i + k] == f[k];
            }
            if (match) {
                try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
                    raf.seek(i);
                    raf.write(to.getBytes(StandardCharsets.ISO_8859_1));
                }
                return;
            }
        }
        throw new AssertionError(from + " not found in " + p);
    }

    /** A VMDK descriptor file with one FLAT extent naming {@code extent}. */
    static Path vmdkDescriptor(Path dir, String name, String extent) throws IOException {
        String text = "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
                + "createType=\"monolithicFlat\"\n\n# Extent description\nRW 2048 FLAT \"" + extent + "\" 0\n\n"
                + "ddb.virtualHWVersion = \"4\"\n";
        Path p = dir.resolve(name);
        Files.writeString(p, text, StandardCharsets.ISO_8859_1);
        return p;
    }

    static Path mkfifo(Path p) throws IOException, InterruptedException {
        Process proc = new ProcessBuilder("mkfifo", p.toString()).inheritIO().start();
        assertThat(proc.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(proc.exitValue()).isZero();
        return p;
    }
}
