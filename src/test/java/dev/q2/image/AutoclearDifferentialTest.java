package dev.q2.image;

import dev.q2.testutil.BitmapReader;
import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Autoclear feature bits (qemu-iotests 036): a read-write open clears the bits QEMU does not know (all but bitmaps
 * and raw external data) by rewriting the header, and drops a bitmaps extension whose autoclear bit is clear; a
 * read-only open changes nothing. q2 io (read-write by default) is compared with qemu-io, q2 check -r all with
 * qemu-img check -r all, on the header cluster's bytes.
 */
@Tag("qemu")
class AutoclearDifferentialTest {
    @TempDir
    Path dir;

    @BeforeEach
    void needQemu() {
        Qemu.assumeAvailable();
    }

    private static final long BIT63 = 1L << 63;

    /** Builds the same image as q.qcow2 and o.qcow2; returns its cluster size. */
    private int make(String kind) throws Exception {
        String options = kind.equals("4k clusters") ? "cluster_size=4k" : "cluster_size=64k";
        for (String f : new String[] {"q.qcow2", "o.qcow2"}) {
            if (kind.equals("backing file")) {
                run(Qemu.img(dir, "create", "-q", "-f", "raw", "base.raw", "8M"));
                run(Qemu.img(dir, "create", "-q", "-f", "qcow2", "-o", options, "-b", "base.raw", "-F", "raw", f));
            } else if (kind.equals("backing file name not UTF-8")) {
                // "b\xe9.raw": a name QEMU takes as bytes; the rewritten header must keep them
                if (f.equals("q.qcow2")) {
                    run(Qemu.img(dir, "create", "-q", "-f", "raw", "bx.raw", "8M"));
                    Process p = new ProcessBuilder("bash", "-c", "mv bx.raw $'b\\xe9.raw'").directory(dir.toFile())
                            .start();
                    assertThat(p.waitFor()).isZero();
                }
                run(Qemu.img(dir, "create", "-q", "-f", "qcow2", "-o", options, "-u", "-b", "bx.raw", "-F", "raw", f,
                        "8M"));
                ByteBuffer h = ByteBuffer.wrap(BitmapReader.head(dir.resolve(f), 512));
                try (FileChannel ch = FileChannel.open(dir.resolve(f), StandardOpenOption.WRITE)) {
                    ch.write(ByteBuffer.wrap(new byte[] {(byte) 0xe9}), h.getLong(8) + 1);
                }
            } else {
                run(Qemu.img(dir, "create", "-q", "-f", "qcow2", "-o", options, f, "8M"));
            }
            run(Qemu.io(dir, "-c", "write -P 7 0 128k", f));
            long autoclear = BIT63 | (1L << 5);
            if (kind.startsWith("bitmaps")) {
                run(Qemu.img(dir, "bitmap", "--add", f, "b0"));
                run(Qemu.img(dir, "bitmap", "--add", "--disable", "-g", "4096", f, "b1"));
                autoclear |= kind.equals("bitmaps") ? 1 : 0; // "bitmaps, bit clear": a program lacking support
            }
            try (FileChannel ch = FileChannel.open(dir.resolve(f), StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.allocate(8).putLong(autoclear).flip(), 88);
            }
        }
        return kind.equals("4k clusters") ? 4096 : 65536;
    }

    private static void run(Qemu.Result r) {
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
    }

    private long autoclear(String f) throws Exception {
        return ByteBuffer.wrap(BitmapReader.head(dir.resolve(f), 96)).getLong(88);
    }

    @ParameterizedTest(name = "q2 io: {0}")
    @ValueSource(strings = {"64k clusters", "4k clusters", "backing file", "bitmaps", "bitmaps, bit clear"})
    void readWriteOpenClearsUnknownBits(String kind) throws Exception {
        int cs = make(kind);
        long before = autoclear("o.qcow2");

        Cli.Result ro = Cli.runIn(dir, "io", "-r", "-c", "read 0 512", "o.qcow2");
        assertThat(ro.exitCode()).as(ro.err()).isZero();
        run(Qemu.io(dir, "-r", "-c", "read 0 512", "q.qcow2"));
        assertThat(autoclear("o.qcow2")).isEqualTo(before).isEqualTo(autoclear("q.qcow2"));

        run(Qemu.io(dir, "-c", "read 0 512", "q.qcow2"));
        Cli.Result rw = Cli.runIn(dir, "io", "-c", "read 0 512", "o.qcow2");
        assertThat(rw.exitCode()).as(rw.err()).isZero();
        assertThat(autoclear("o.qcow2") & BIT63).isZero();
        assertThat(BitmapReader.head(dir.resolve("o.qcow2"), cs)).isEqualTo(BitmapReader.head(dir.resolve("q.qcow2"),
                cs));
        assertThat(BitmapReader.read(dir.resolve("o.qcow2"))).isEqualTo(BitmapReader.read(dir.resolve("q.qcow2")));
    }

    /**
     * A backing file name that is not UTF-8 is rewritten byte for byte (q2 opens such a backing file by another name
     * today, so the library opens the image without its backing chain here).
     */
    @org.junit.jupiter.api.Test
    void backingFileNamesAreKeptAsBytes() throws Exception {
        int cs = make("backing file name not UTF-8");
        run(Qemu.io(dir, "-c", "read 0 512", "q.qcow2"));
        try (Qcow2Disk disk = Qcow2Disk.open(dir.resolve("o.qcow2"), DiskOptions.readWrite().withoutBacking())) {
            assertThat(disk.size()).isPositive();
        }
        byte[] q2 = BitmapReader.head(dir.resolve("o.qcow2"), cs);
        assertThat(ByteBuffer.wrap(q2).getLong(88)).isZero(); // bits 5 and 63 cleared
        assertThat(q2).isEqualTo(BitmapReader.head(dir.resolve("q.qcow2"), cs));
    }

    /**
     * A header longer than the 112 bytes QEMU knows (header_length 120): the rewritten header keeps the unknown
     * fields' bytes, as QEMU's qcow2_update_header does.
     */
    @org.junit.jupiter.api.Test
    void unknownHeaderFieldsAreKept() throws Exception {
        int cs = make("64k clusters");
        for (String f : new String[] {"q.qcow2", "o.qcow2"}) {
            byte[] head = BitmapReader.head(dir.resolve(f), cs);
            ByteBuffer b = ByteBuffer.allocate(cs);
            b.put(head, 0, 112).putLong(0x0102030405060708L).put(head, 112, cs - 120);
            b.putInt(100, 120);
            try (FileChannel ch = FileChannel.open(dir.resolve(f), StandardOpenOption.WRITE)) {
                ch.write(b.flip(), 0);
            }
        }
        run(Qemu.io(dir, "-c", "write 0 512", "q.qcow2"));
        Cli.Result rw = Cli.runIn(dir, "io", "-c", "write 0 512", "o.qcow2");
        assertThat(rw.exitCode()).as(rw.err()).isZero();
        byte[] q2 = BitmapReader.head(dir.resolve("o.qcow2"), cs);
        assertThat(ByteBuffer.wrap(q2).getLong(112)).isEqualTo(0x0102030405060708L);
        assertThat(q2).isEqualTo(BitmapReader.head(dir.resolve("q.qcow2"), cs));
    }

    @ParameterizedTest(name = "q2 check -r all: {0}")
    @ValueSource(strings = {"64k clusters", "4k clusters", "backing file", "bitmaps", "bitmaps, bit clear"})
    void checkRepairClearsUnknownBits(String kind) throws Exception {
        int cs = make(kind);
        long before = autoclear("o.qcow2");

        Cli.Result plain = Cli.runIn(dir, "check", "o.qcow2");
        Qemu.Result qPlain = Qemu.img(dir, "check", "q.qcow2");
        assertThat(plain.exitCode()).isEqualTo(qPlain.exitCode());
        assertThat(autoclear("o.qcow2")).isEqualTo(before).isEqualTo(autoclear("q.qcow2"));

        Qemu.Result q = Qemu.img(dir, "check", "-r", "all", "q.qcow2");
        Cli.Result o = Cli.runIn(dir, "check", "-r", "all", "o.qcow2");
        assertThat(o.exitCode()).as(o.err()).isEqualTo(q.exitCode()).isZero();
        assertThat(o.out()).isEqualTo(q.out());
        assertThat(autoclear("o.qcow2") & BIT63).isZero();
        if (kind.equals("bitmaps")) {
            // qemu-img's read-write open also stores the bitmaps again on close (new clusters): same bitmaps
            assertThat(autoclear("o.qcow2")).isEqualTo(autoclear("q.qcow2"));
            assertThat(BitmapReader.read(dir.resolve("o.qcow2")).withoutLayout())
                    .isEqualTo(BitmapReader.read(dir.resolve("q.qcow2")).withoutLayout());
        } else {
            assertThat(BitmapReader.head(dir.resolve("o.qcow2"), cs))
                    .isEqualTo(BitmapReader.head(dir.resolve("q.qcow2"), cs));
        }
        Qemu.Result after = Qemu.img(dir, "check", "o.qcow2");
        assertThat(after.exitCode()).as(after.out() + after.err()).isZero();
    }
}
