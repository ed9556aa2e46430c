package dev.q2.image;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Damaged images, built here with qemu-img, qemu-io and byte patches, read by every read path as qemu-img and
 * qemu-io read them: convert (the fast raw path, -S, into qcow2), q2 io read-only and read-write (which marks the
 * image corrupt and then refuses all I/O), map, compare and the library's {@link Qcow2Disk}; stdout, stderr and exit
 * codes compared with the real tools'.
 */
@Tag("qemu")
class DamagedImageDifferentialTest extends QemuTest {
    private static final long COPIED = 1L << 63;

    // ------------------------------------------------------------------ corrupt L2 metadata

    @Test
    void unalignedDataCluster() throws IOException {
        // data at 0 and 1M; the entry of 1M (index 16) points 512 bytes into its host cluster
        image("unaligned.qcow2", "4M");
        unalignEntry16("unaligned.qcow2", 8);
        everyReadPath("unaligned.qcow2", "Cluster allocation offset 0x60200 unaligned (L2 offset: 0x40000, L2 index: "
                + "0x10)");
    }

    @Test
    void zeroFlaggedEntryWithUnalignedOffset() throws IOException {
        image("zero.qcow2", "4M");
        long l2 = firstL2Table("zero.qcow2");
        patchLong("zero.qcow2", l2 + 8 * 16, (readLong("zero.qcow2", l2 + 8 * 16) + 0x200) | 1);
        everyReadPath("zero.qcow2", "Cluster allocation offset 0x60200 unaligned (L2 offset: 0x40000, L2 index: "
                + "0x10)");
    }

    @Test
    void extendedL2SubclusterAllocatedAndZero() throws IOException {
        // the invalid entry (index 16) is met in the middle of a run of unallocated clusters: QEMU names it, not the
        // entry the query started at
        image("sub.qcow2", "4M", "-o", "extended_l2=on");
        long bitmap = firstL2Table("sub.qcow2") + 16 * 16 + 8;
        patchLong("sub.qcow2", bitmap, readLong("sub.qcow2", bitmap) | (1L << 32));
        everyReadPath("sub.qcow2", "Invalid cluster entry found  (L2 offset: 0x40000, L2 index: 0x10)");
    }

    @Test
    void zeroFlagInAVersion2Image() throws IOException {
        image("v2.qcow2", "4M", "-o", "compat=0.10");
        long l2 = firstL2Table("v2.qcow2");
        patchLong("v2.qcow2", l2 + 8 * 16, readLong("v2.qcow2", l2 + 8 * 16) | 1);
        everyReadPath("v2.qcow2", "Zero cluster entry found in pre-v3 image (L2 offset: 0x40000, L2 index: 0x10)");
    }

    @Test
    void externalDataFileEntryOffTheGuestOffset() throws IOException {
        image("ext.qcow2", "4M", "-o", "data_file=ext.data");
        long l2 = firstL2Table("ext.qcow2");
        patchLong("ext.qcow2", l2 + 8 * 16, 0x20000L | COPIED); // guest 1M read from data file offset 128k
        everyReadPath("ext.qcow2", "External data file host cluster offset 0x20000 does not match guest cluster "
                + "offset: 0x100000, L2 index: 0x10)");
    }

    @Test
    void unalignedL2Table() throws IOException {
        image("table.qcow2", "4M");
        long l1 = readLong("table.qcow2", 40);
        patchLong("table.qcow2", l1, readLong("table.qcow2", l1) | 0x200);
        everyReadPath("table.qcow2", "L2 table offset 0x40200 unaligned (L1 index: 0)");
    }

    @Test
    void extendedL2UnalignedDataCluster() throws IOException {
        // extended L2 entries are 16 bytes: the message still names the entry's index in its table
        image("extunal.qcow2", "4M", "-o", "extended_l2=on");
        unalignEntry16("extunal.qcow2", 16);
        everyReadPath("extunal.qcow2", "Cluster allocation offset 0x60200 unaligned (L2 offset: 0x40000, L2 index: "
                + "0x10)");
    }

    // ------------------------------------------------------------------ writes into corrupt metadata

    @Test
    void writeIntoAnUnalignedDataCluster() throws IOException {
        // QEMU refuses to write in place at an unaligned host offset (it would overwrite the neighbouring cluster)
        image("wunal.qcow2", "4M");
        long l2 = firstL2Table("wunal.qcow2");
        patchLong("wunal.qcow2", l2 + 8 * 16, readLong("wunal.qcow2", l2 + 8 * 16) + 0x200);
        sameIo(true, "wunal.qcow2", "write -P 0x99 0x101200 512", "read 0 4k", "flush");
        sameIo(true, "wunal.qcow2", "write -P 0x99 1M 64k", "write 0 4k");
        // a discard leaves the unaligned cluster allocated (a leak) instead of freeing the two it straddles
        Files.copy(dir.resolve("wunal.qcow2"), dir.resolve("q.qcow2"));
        Files.copy(dir.resolve("wunal.qcow2"), dir.resolve("r.qcow2"));
        assertThat(Qemu.io(dir, "-c", "discard 1M 64k", "q.qcow2").exitCode()).isZero();
        assertThat(Cli.runIn(dir, "io", "-c", "discard 1M 64k", "r.qcow2").exitCode()).isZero();
        Qemu.Result q = Qemu.img(dir, "check", "q.qcow2");
        Qemu.Result r = Qemu.img(dir, "check", "r.qcow2");
        assertThat(q.exitCode()).as(q.out()).isEqualTo(3);
        assertThat(r.out()).isEqualTo(q.out());
        assertThat(r.exitCode()).isEqualTo(q.exitCode());
    }

    @Test
    void writeWithAnUnalignedRefcountBlock() throws IOException {
        // iotest 305: the first allocation meets the refcount block; QEMU marks the image corrupt, fails the write
        // and refuses everything after it
        img("create", "-q", "-f", "qcow2", "refblock.qcow2", "64M");
        long reftable = readLong("refblock.qcow2", 48);
        patchLong("refblock.qcow2", reftable, readLong("refblock.qcow2", reftable) + 0x200);
        sameIo(true, "refblock.qcow2", "write 0 64k", "read 0 4k", "write 64k 4k", "flush");
        // the library says the same
        try (Qcow2Disk disk = Qcow2Disk.open(dir.resolve("refblock.qcow2"), DiskOptions.readWrite())) {
            assertThatThrownBy(() -> disk.write(0, ByteBuffer.allocate(4096)))
                    .isInstanceOf(CorruptMetadataException.class)
                    .hasMessage("Refblock offset 0x20200 unaligned (reftable index: 0)")
                    .satisfies(e -> assertThat(((CorruptMetadataException) e).fatal()).isTrue());
            assertThatThrownBy(() -> disk.read(0, ByteBuffer.allocate(4096)))
                    .isInstanceOf(DiskUnusableException.class).hasMessage("No medium found");
        }
        assertThat(readLong("refblock.qcow2", 72) & 2).as("corrupt bit").isEqualTo(2);
    }

    // ------------------------------------------------------------------ data past the end of the file

    @Test
    void convertToRawReadsZerosPastTheEndOfTheFile() throws IOException {
        // a last data cluster cut short, and one whose whole host cluster lies past the end of the file
        img("create", "-q", "-f", "qcow2", "cut.qcow2", "1M");
        io("cut.qcow2", "write -P 0x33 0 192k");
        long l2 = firstL2Table("cut.qcow2");
        long second = readLong("cut.qcow2", l2 + 8) & 0x00ff_ffff_ffff_fe00L;
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("cut.qcow2").toFile(), "rw")) {
            f.setLength(second + 0x8000); // half of the second data cluster, none of the third
        }
        img("create", "-q", "-f", "qcow2", "past.qcow2", "1M");
        io("past.qcow2", "write -P 0x44 0 128k");
        l2 = firstL2Table("past.qcow2");
        patchLong("past.qcow2", l2 + 8, readLong("past.qcow2", l2 + 8) + (16 << 20));
        for (String file : new String[] {"cut.qcow2", "past.qcow2"}) {
            for (String[] opts : new String[][] {{}, {"-S", "4k"}}) {
                List<String> q = new ArrayList<>(List.of("convert", "-O", "raw"));
                q.addAll(List.of(opts));
                List<String> r = new ArrayList<>(q);
                q.addAll(List.of(file, "qemu.raw"));
                r.addAll(List.of(file, "q2.raw"));
                Qemu.Result qr = Qemu.img(dir, q.toArray(String[]::new));
                Cli.Result rr = Cli.runIn(dir, r.toArray(String[]::new));
                assertThat(qr.exitCode()).as("qemu-img %s", q).isZero();
                assertThat(rr.err()).as("stderr of q2 %s", r).isEmpty();
                assertThat(rr.exitCode()).as("q2 %s", r).isZero();
                assertThat(Files.readAllBytes(dir.resolve("q2.raw"))).as("q2 %s", r)
                        .isEqualTo(Files.readAllBytes(dir.resolve("qemu.raw")));
            }
        }
    }

    // ------------------------------------------------------------------ external data file without a name

    @Test
    void dataFileBitWithoutADataFileName() throws IOException {
        img("create", "-q", "-f", "qcow2", "noname.qcow2", "1M");
        io("noname.qcow2", "write -P 0x55 0 64k");
        patchLong("noname.qcow2", 72, readLong("noname.qcow2", 72) | 4); // incompatible bit 2: external data file
        for (String[] c : new String[][] {{"check", "noname.qcow2"}, {"map", "noname.qcow2"},
                {"map", "--output=json", "noname.qcow2"}, {"convert", "-O", "raw", "noname.qcow2", "t.raw"},
                {"convert", "-O", "qcow2", "noname.qcow2", "t.qcow2"}, {"compare", "noname.qcow2", "noname.qcow2"}}) {
            Qemu.Result q = Qemu.img(dir, c);
            Cli.Result r = Cli.runIn(dir, c);
            assertThat(q.err()).as(Arrays.toString(c)).contains("'data-file' is required for this image");
            assertThat(r.out()).as("stdout of %s", Arrays.toString(c)).isEqualTo(q.out());
            sameResult(Arrays.toString(c), r, q, "qemu-img: ");
        }
        Qemu.Result q = Qemu.io(dir, "-r", "-c", "read 0 4k", "noname.qcow2");
        Cli.Result r = Cli.runIn(dir, "io", "-r", "-c", "read 0 4k", "noname.qcow2");
        sameResult("io", r, q, "qemu-io: ");
        // info opens the image for its metadata only, which needs no data file
        assertThat(Cli.runIn(dir, "info", "noname.qcow2").exitCode()).isZero();
        assertThat(Qemu.img(dir, "info", "noname.qcow2").exitCode()).isZero();
    }

    // ------------------------------------------------------------------ sizes that are not whole sectors

    @Test
    void sizesInWholeSectors() throws IOException {
        // a qcow2 virtual size 1000 bytes short of 1 MiB (QEMU drops the partial sector), a raw file of 1000 bytes
        // (QEMU counts the partial sector)
        img("create", "-q", "-f", "qcow2", "odd.qcow2", "1M");
        io("odd.qcow2", "write -P 0x66 0 1M");
        patchLong("odd.qcow2", 24, (1 << 20) - 1000);
        byte[] raw = new byte[1000];
        Arrays.fill(raw, (byte) 0x77);
        Files.write(dir.resolve("odd.raw"), raw);
        for (String file : new String[] {"odd.qcow2", "odd.raw"}) {
            for (String output : new String[] {"human", "json"}) {
                String[] info = {"info", "--output=" + output, file};
                assertThat(sizeLines(Cli.runIn(dir, info).out())).as("q2 info %s", output)
                        .isEqualTo(sizeLines(Qemu.img(dir, info).out()));
                String[] map = {"map", "--output=" + output, file};
                assertThat(Cli.runIn(dir, map).out()).as("q2 map %s of %s", output, file)
                        .isEqualTo(Qemu.img(dir, map).out());
            }
            for (String format : new String[] {"raw", "qcow2"}) {
                img("convert", "-O", format, file, "qemu." + format);
                assertThat(Cli.runIn(dir, "convert", "-O", format, file, "q2." + format).exitCode()).isZero();
                String[] size = {"info", "--output=json", "-f", format};
                assertThat(sizeLines(Qemu.img(dir, concat(size, "q2." + format)).out()))
                        .as("virtual size of %s converted to %s", file, format)
                        .isEqualTo(sizeLines(Qemu.img(dir, concat(size, "qemu." + format)).out()));
                Qemu.Result cmp = Qemu.img(dir, "compare", "-s", "q2." + format, "qemu." + format);
                assertThat(cmp.exitCode()).as("compare -s: %s", cmp.out()).isZero();
            }
        }
    }

    private static String sizeLines(String out) {
        return out.lines().filter(l -> l.contains("virtual-size") || l.startsWith("virtual size:"))
                .collect(Collectors.joining("\n"));
    }

    private static String[] concat(String[] a, String b) {
        String[] r = Arrays.copyOf(a, a.length + 1);
        r[a.length] = b;
        return r;
    }

    /** Data at 0 and at 1M, so that the damage at 1M comes after a cluster that reads well. */
    private void image(String name, String size, String... options) {
        List<String> args = new ArrayList<>(List.of("create", "-q", "-f", "qcow2"));
        args.addAll(List.of(options));
        args.add(name);
        args.add(size);
        img(args.toArray(String[]::new));
        io(name, "write -P 0x11 0 64k", "write -P 0x22 1M 64k");
    }

    /** QEMU's report of the corruption, and each read path's own failure after it. */
    private void everyReadPath(String file, String message) throws IOException {
        String report = "qcow2: Image is corrupt: " + message + "; further non-fatal corruption events will be "
                + "suppressed\n";
        // convert: the fast raw path, qemu-img's steps (-S), into qcow2; the same failing block-status offset
        for (String[] c : new String[][] {{"-O", "raw"}, {"-S", "4k", "-O", "raw"}, {"-O", "qcow2"}}) {
            List<String> args = new ArrayList<>(List.of("convert"));
            args.addAll(List.of(c));
            args.add(file);
            args.add("target");
            Qemu.Result q = Qemu.img(dir, args.toArray(String[]::new));
            Cli.Result r = Cli.runIn(dir, args.toArray(String[]::new));
            assertThat(q.err()).as("qemu-img %s", args).startsWith(report);
            sameResult(args.toString(), r, q, "qemu-img: ");
        }
        // map and compare (the rule they share with the reads)
        for (String[] c : new String[][] {{"map", "--output=json", file}, {"compare", file, file}}) {
            Qemu.Result q = Qemu.img(dir, c);
            Cli.Result r = Cli.runIn(dir, c);
            assertThat(q.err()).as("qemu-img %s", Arrays.toString(c)).startsWith(report);
            assertThat(r.out()).as(Arrays.toString(c)).isEqualTo(q.out());
            sameResult(Arrays.toString(c), r, q, "qemu-img: ");
        }
        // qemu-io read-only: each read of the damage fails, the report comes once
        sameIo(false, file, "read -P 0x11 0 64k", "read 0 4M", "read 1M 4k", "read -P 0x11 0 4k");
        // qemu-io read-write: the image is marked corrupt, and from then on every request fails
        sameIo(true, file, "read -P 0x11 0 64k", "read 0 4M", "read 0 4k", "write 2M 4k", "flush");
        // the library
        try (Qcow2Disk disk = Qcow2Disk.open(dir.resolve(file), DiskOptions.readOnly().withWorkDir(dir))) {
            ByteBuffer b = ByteBuffer.allocate(2 << 20);
            if (!message.startsWith("L2 table")) {
                disk.read(0, b.clear().limit(64 << 10)); // before the damage
            }
            assertThatThrownBy(() -> disk.read(0, b.clear())).isInstanceOf(CorruptMetadataException.class)
                    .hasMessage(message);
            assertThatThrownBy(() -> disk.read(1 << 20, b.clear().limit(4096)))
                    .isInstanceOf(CorruptMetadataException.class).hasMessage(message)
                    .satisfies(e -> assertThat(((CorruptMetadataException) e).firstReport()).isFalse());
        }
    }

    private void sameResult(String what, Cli.Result r, Qemu.Result q, String prefix) {
        assertThat(r.err().replace("q2: ", "")).as("stderr of %s", what).isEqualTo(q.err().replace(prefix, ""));
        assertThat(r.exitCode()).as("exit code of %s", what).isEqualTo(q.exitCode());
    }

    /**
     * qemu-io and q2 io on two copies of {@code file}: stdout (without timings), stderr, exit code, and the header's
     * incompatible features afterwards (the corrupt bit).
     */
    private void sameIo(boolean readWrite, String file, String... commands) throws IOException {
        String theirs = "qemu-" + file;
        String ours = "q2-" + file;
        Files.copy(dir.resolve(file), dir.resolve(theirs), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(dir.resolve(file), dir.resolve(ours), StandardCopyOption.REPLACE_EXISTING);
        List<String> args = new ArrayList<>();
        if (!readWrite) {
            args.add("-r");
        }
        for (String c : commands) {
            args.add("-c");
            args.add(c);
        }
        List<String> q = new ArrayList<>(args);
        q.add(theirs);
        List<String> r = new ArrayList<>(List.of("io"));
        r.addAll(args);
        r.add(ours);
        Qemu.Result qr = Qemu.io(dir, q.toArray(String[]::new));
        Cli.Result rr = Cli.runIn(dir, r.toArray(String[]::new));
        String what = "io " + args + " " + file;
        assertThat(withoutTimings(rr.out())).as("stdout of %s", what).isEqualTo(withoutTimings(qr.out()));
        assertThat(rr.err().replace(ours, theirs).replace("q2: ", ""))
                .as("stderr of %s", what).isEqualTo(qr.err().replace("qemu-io: ", ""));
        assertThat(rr.exitCode()).as("exit code of %s", what).isEqualTo(qr.exitCode());
        assertThat(readLong(ours, 72)).as("incompatible features after %s", what).isEqualTo(readLong(theirs, 72));
        if (readWrite && (readLong(file, 0) & 0xffff_ffffL) >= 3) {
            assertThat(readLong(ours, 72) & 2).as("corrupt bit after %s", what).isEqualTo(2);
        }
    }

    /** Adds 0x200 to the host offset in the first L2 table's entry 16 (entries of {@code entrySize} bytes). */
    private void unalignEntry16(String file, int entrySize) {
        long at = firstL2Table(file) + entrySize * 16;
        patchLong(file, at, readLong(file, at) + 0x200);
    }

    private static String withoutTimings(String out) {
        return out.lines().filter(l -> !l.contains(" ops; ")).collect(Collectors.joining("\n"));
    }

    // ------------------------------------------------------------------ helpers

}
