package dev.q2.snapshot;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * q2 snapshot against qemu-img snapshot: the same sequence of commands on two copies of an image (one with qemu-img,
 * one with q2; guest data written by qemu-io between steps on both), then the same exit codes, stdout and stderr
 * (dates masked; "qemu-img:" read as "q2:"), files identical byte for byte but for the snapshots' date fields, a
 * clean qemu-img check (or the same leaks qemu-img leaves), and qemu-img reads q2's snapshots (convert -l) as its own.
 */
@Tag("qemu")
class SnapshotDifferentialTest {
    @TempDir
    Path dir;

    @BeforeEach
    void needQemu() {
        Qemu.assumeAvailable();
    }

    private static final String[] SEQUENCE = {
        "io:write -P 1 0 128k", "s:-c s1", "io:write -P 3 64k 128k", "s:-c s2", "s:-l", "io:write -z 4M 64k",
        "s:-c s3", "s:-d s2", "s:-a 1", "io:write -P 9 0 4k", "s:-a s3", "s:-c s1", "s:-l", "s:-d s1", "s:-d 3",
        "s:-d s3", "s:-a nope", "s:-l"};

    @ParameterizedTest
    @ValueSource(strings = {"", "cluster_size=512", "cluster_size=2M", "cluster_size=16k,extended_l2=on",
        "extended_l2=on", "refcount_bits=1", "refcount_bits=2,cluster_size=4k", "refcount_bits=4",
        "refcount_bits=8", "refcount_bits=32", "refcount_bits=64", "compat=0.10", "lazy_refcounts=on",
        "compression_type=zstd", "preallocation=metadata"})
    void sameFilesAndOutput(String options) throws Exception {
        create(options, "64M");
        // compressed clusters made once (qemu-io's compressed writes are not deterministic with small clusters)
        // (with preallocated metadata, compressed writes fail: QEMU writes compressed clusters only where none is)
        run(Qemu.io(dir, "-c", options.contains("preallocation") ? "write -P 4 2M 2M" : "write -c -P 4 2M 2M",
                "-c", "write -P 5 8M 192k", "a.qcow2"));
        Files.copy(dir.resolve("a.qcow2"), dir.resolve("b.qcow2"));
        steps(SEQUENCE);
        assertSameImages();
    }

    @Test
    void snapshotsOfSnapshotsAndBackingFiles() throws Exception {
        run(Qemu.img(dir, "create", "-q", "-f", "qcow2", "base.qcow2", "64M"));
        run(Qemu.io(dir, "-c", "write -P 7 0 1M", "base.qcow2"));
        run(Qemu.img(dir, "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "a.qcow2"));
        Files.copy(dir.resolve("a.qcow2"), dir.resolve("b.qcow2"));
        steps("io:write -P 1 512k 64k", "s:-c a", "s:-c a", "s:-c b", "io:write -P 2 0 1M", "s:-a 2", "s:-d a",
                "s:-d a", "s:-d a", "s:-a b", "s:-l");
        assertSameImages();
    }

    @Test
    void refusals() throws Exception {
        run(Qemu.img(dir, "create", "-q", "-f", "qcow2", "-o", "data_file=a.raw", "a.qcow2", "64M"));
        run(Qemu.img(dir, "create", "-q", "-f", "qcow2", "-o", "data_file=b.raw", "b.qcow2", "64M"));
        steps("s:-c s", "s:-l", "s:-a s", "s:-d s");
        for (String f : List.of("a.qcow2", "b.qcow2")) {
            Files.delete(dir.resolve(f));
            run(Qemu.img(dir, "create", "-q", "-f", "qcow2", f, "64M"));
            // (no dirty bits: q2 does not yet punch the old bitmap clusters it frees on close as QEMU does, a
            // difference of the engine's bitmap store, not of snapshots)
            run(Qemu.img(dir, "bitmap", "--add", f, "b0"));
        }
        steps("s:-c s", "s:-a s", "s:-d s", "s:-l");
        assertSameImages();
        steps("s:-l -c x", "s:-c x -d y", "s:", "s:-q -c quiet");
        Files.write(dir.resolve("a.raw"), new byte[1 << 20]);
        for (String[] args : List.of(new String[] {"-l", "a.raw"}, new String[] {"-c", "s", "a.raw"},
                new String[] {"-a", "s", "a.raw"}, new String[] {"-d", "s", "a.raw"}, new String[] {"-l", "nope"},
                new String[] {"-l", "a.qcow2", "b.qcow2"}, new String[] {"-c", "x"})) {
            same(Qemu.img(dir, concat("snapshot", args)), Cli.runIn(dir, concat("snapshot", args)));
        }
    }

    @Test
    void openErrorsAndLocks() throws Exception {
        run(Qemu.img(dir, "create", "-q", "-f", "qcow2", "-u", "-b", "gone.qcow2", "-F", "qcow2", "a.qcow2", "64M"));
        run(Qemu.img(dir, "create", "-q", "-f", "qcow2", "c.qcow2", "64M"));
        for (String[] args : List.of(new String[] {"-c", "s", "a.qcow2"}, new String[] {"-l", "a.qcow2"},
                new String[] {"-U", "-c", "s", "c.qcow2"}, new String[] {"-U", "-d", "s", "c.qcow2"},
                new String[] {"-c", "s", "missing.qcow2"}, new String[] {"-l", ""})) {
            same(Qemu.img(dir, concat("snapshot", args)), Cli.runIn(dir, concat("snapshot", args)));
        }
        // the corrupt bit: refused for writing, listed read-only
        try (var ch = java.nio.channels.FileChannel.open(dir.resolve("c.qcow2"),
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8).putLong(0, 2), 72);
        }
        for (String[] args : List.of(new String[] {"-c", "s", "c.qcow2"}, new String[] {"-l", "c.qcow2"})) {
            same(Qemu.img(dir, concat("snapshot", args)), Cli.runIn(dir, concat("snapshot", args)));
        }
        run(Qemu.img(dir, "create", "-q", "-f", "qcow2", "d.qcow2", "64M"));
        run(Qemu.img(dir, "snapshot", "-c", "s", "d.qcow2"));
        try (Qemu.Holder h = Qemu.holdForWriting(dir, "d.qcow2")) {
            for (String[] args : List.of(new String[] {"-c", "t", "d.qcow2"}, new String[] {"-l", "d.qcow2"},
                    new String[] {"-d", "s", "d.qcow2"})) {
                same(Qemu.img(dir, concat("snapshot", args)), Cli.runIn(dir, concat("snapshot", args)));
            }
            Qemu.Result q = Qemu.img(dir, "snapshot", "-U", "-l", "d.qcow2");
            Cli.Result c = Cli.runIn(dir, "snapshot", "-U", "-l", "d.qcow2");
            assertThat(c.exitCode()).isZero();
            assertThat(c.out()).isEqualTo(q.out()); // the same snapshot, listed by both
        }
    }

    /**
     * Tables QEMU 7.2 does not write itself: entries of older QEMUs (no extra data, or 16 bytes without icount),
     * extra data it does not know (kept), an ID that is not a number; rewritten as QEMU rewrites them.
     */
    @Test
    void olderAndUnknownEntries() throws Exception {
        create("compat=0.10", "16M");
        writeTable(List.of(entry("1", "old", 0, 0), entry("7x", "sixteen", 16, 0), entry(" 12", "unknown", 40, 0xab),
                entry("abc", "named", 24, 0)), true);
        Files.copy(dir.resolve("a.qcow2"), dir.resolve("b.qcow2"));
        steps("s:-l", "s:-c new", "s:-l", "s:-d sixteen", "s:-a 13", "s:-d 1", "s:-d old", "s:-l");
        assertSameImages();
    }

    /**
     * 65536 snapshots, as many as QEMU allows: one more is refused (EFBIG) before anything is written. (qemu-img
     * takes tens of seconds for any other operation on such a table, so this test stops there.)
     */
    @Test
    void tooManySnapshots() throws Exception {
        create("", "16M");
        List<byte[]> entries = new ArrayList<>();
        for (int i = 1; i <= 65536; i++) {
            entries.add(entry(Integer.toString(i), "s", 24, 0));
        }
        writeTable(entries, false);
        Files.copy(dir.resolve("a.qcow2"), dir.resolve("b.qcow2"));
        byte[] before = Files.readAllBytes(dir.resolve("a.qcow2"));
        steps("s:-c one-more");
        assertThat(Files.readAllBytes(dir.resolve("a.qcow2"))).isEqualTo(before);
        assertThat(Files.readAllBytes(dir.resolve("b.qcow2"))).isEqualTo(before);
    }

    /**
     * Upgrading a version 2 image whose snapshot entries lack the extra data version 3 requires (iotest 261): amend
     * writes the table again as QEMU's qcow2_upgrade does, every entry with the 24 bytes QEMU knows, extra data it
     * does not know kept; an entry that already has it needs no rewrite.
     */
    @Test
    void upgradeCompletesExtraData() throws Exception {
        create("compat=0.10", "16M");
        writeTable(List.of(entry("1", "none", 0, 0), entry("2", "unknown", 50, 0x5a), entry("3", "eight", 8, 0)),
                true);
        Files.copy(dir.resolve("a.qcow2"), dir.resolve("b.qcow2"));
        run(Qemu.img(dir, "amend", "-o", "compat=1.1", "a.qcow2"));
        Cli.Result c = Cli.runIn(dir, "amend", "-o", "compat=1.1", "b.qcow2");
        assertThat(c.exitCode()).as(c.err()).isZero();
        assertSameBytesAndCheck();
        steps("s:-l", "s:-c new", "s:-d none");
        assertSameBytesAndCheck();

        Files.delete(dir.resolve("a.qcow2"));
        Files.delete(dir.resolve("b.qcow2"));
        create("compat=0.10", "16M");
        writeTable(List.of(entry("1", "sixteen", 16, 0)), true);
        Files.copy(dir.resolve("a.qcow2"), dir.resolve("b.qcow2"));
        run(Qemu.img(dir, "amend", "-o", "compat=1.1", "a.qcow2"));
        assertThat(Cli.runIn(dir, "amend", "-o", "compat=1.1", "b.qcow2").exitCode()).isZero();
        assertSameBytesAndCheck();
    }

    /**
     * Snapshot tables the open refuses (iotest 261), in qcow2_read_snapshots' words with its hint on a second line:
     * an entry with more than 1 KiB of extra data, and a table past 64 MiB (508 entries with the largest ID and
     * name, written sparsely: their bytes are zeros).
     */
    @Test
    void openRefusesOversizedSnapshotTables() throws Exception {
        create("", "16M");
        writeTable(List.of(entry("1", "a", 24, 0), entry("2", "b", 1025, 0x11)), false);
        Files.copy(dir.resolve("a.qcow2"), dir.resolve("b.qcow2"));
        steps("s:-l", "s:-c x");
        assertSameBytesAndCheck();

        Files.delete(dir.resolve("a.qcow2"));
        Files.delete(dir.resolve("b.qcow2"));
        create("", "16M");
        Path a = dir.resolve("a.qcow2");
        long tableOffset = 1 << 20;
        int entrySize = (40 + 1024 + 2 * 65535 + 7) & ~7;
        int nb = (64 << 20) / entrySize + 2;
        try (var ch = java.nio.channels.FileChannel.open(a, java.nio.file.StandardOpenOption.WRITE)) {
            for (int i = 0; i < nb; i++) {
                ByteBuffer h = ByteBuffer.allocate(40).putShort(12, (short) -1).putShort(14, (short) -1)
                        .putInt(36, 1024);
                ch.write(h, tableOffset + (long) i * entrySize);
            }
            ch.write(ByteBuffer.allocate(12).putInt(nb).putLong(tableOffset).flip(), 60);
        }
        Files.copy(a, dir.resolve("b.qcow2"));
        steps("s:-l", "s:-c x");
    }

    /** A snapshot table entry without an L1 table (l1_size 0), with {@code extra} bytes of extra data. */
    private static byte[] entry(String id, String name, int extra, int unknownFill) {
        byte[] idb = id.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] nb = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate((40 + extra + idb.length + nb.length + 7) & ~7);
        b.putShort(12, (short) idb.length).putShort(14, (short) nb.length).putInt(16, 1_600_000_000)
                .putLong(24, 3_723_456_000_000L).putInt(32, 4096).putInt(36, extra);
        if (extra >= 8) {
            b.putLong(40, 4096);
        }
        if (extra >= 16) {
            b.putLong(48, 16 << 20);
        }
        if (extra >= 24) {
            b.putLong(56, 42);
        }
        for (int k = 24; k < extra; k++) {
            b.put(40 + k, (byte) unknownFill);
        }
        b.put(40 + extra, idb).put(40 + extra + idb.length, nb);
        return b.array();
    }

    /** Appends a snapshot table to a.qcow2 and points the header at it; {@code repair}: qemu-img fixes the refcounts. */
    private void writeTable(List<byte[]> entries, boolean repair) throws Exception {
        Path a = dir.resolve("a.qcow2");
        long offset = (Files.size(a) + 65535) & ~65535L;
        int size = entries.stream().mapToInt(e -> e.length).sum();
        ByteBuffer t = ByteBuffer.allocate(size);
        entries.forEach(t::put);
        try (var ch = java.nio.channels.FileChannel.open(a, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(t.flip(), offset);
            ch.write(ByteBuffer.allocate(12).putInt(entries.size()).putLong(offset).flip(), 60);
        }
        if (repair) {
            Qemu.Result r = Qemu.img(dir, "check", "-r", "all", "a.qcow2");
            assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        }
    }

    /**
     * Refcount updates QEMU's snapshot code cannot make (iotests 080 and 112), failing as qemu-img fails them: a
     * cluster past what the refcount table may ever cover (EFBIG, after a refcount block was placed for it), a
     * cluster no refcount block covers yet (the block is placed and hooked up, and QEMU's -EAGAIN is not retried),
     * a 64-bit refcount at its maximum (EINVAL, compared unsigned). The L2 entry at 0x40000 is the first of the
     * first L2 table; the data cluster is cluster 5; {@code snapshotFirst} takes a snapshot before the bytes change.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({
        "'', false, 0x40000=bfffffffffff0000, -c test",
        "'', false, 0x40000=800000ffffff0000, -c test",
        "'', true, 0x40000=800000ffffff0000, -d s",
        "'', true, 0x40000=800000ffffff0000, -a s",
        "'', true, 0x40000=bfffffffffff0000, -d s",
        "refcount_bits=64, false, 0x20028=ffffffffffffffff 0x40000=0000000000050000, -c foo",
        "refcount_bits=64, true, 0x20028=ffffffffffffffff, -c foo",
        "refcount_bits=2, true, '', -c foo -c bar -c baz"})
    void refcountUpdatesThatFail(String options, boolean snapshotFirst, String pokes, String commands)
            throws Exception {
        create(options, "64M");
        run(Qemu.io(dir, "-c", "write 0 512", "a.qcow2"));
        if (snapshotFirst) {
            run(Qemu.img(dir, "snapshot", "-c", "s", "a.qcow2"));
        }
        Files.copy(dir.resolve("a.qcow2"), dir.resolve("b.qcow2"));
        for (String poke : pokes.split(" ")) {
            if (!poke.isEmpty()) {
                String[] kv = poke.split("=");
                long at = Long.decode(kv[0]);
                long value = Long.parseUnsignedLong(kv[1], 16);
                for (String f : List.of("a.qcow2", "b.qcow2")) {
                    try (var ch = java.nio.channels.FileChannel.open(dir.resolve(f),
                            java.nio.file.StandardOpenOption.WRITE)) {
                        ch.write(ByteBuffer.allocate(8).putLong(0, value), at);
                    }
                }
            }
        }
        String[] words = commands.split(" ");
        for (int i = 0; i < words.length; i += 2) {
            steps("s:" + words[i] + " " + words[i + 1]);
        }
        assertSameBytesAndCheck();
    }

    /**
     * Applying a snapshot of another disk size (iotest 061): the disk truncated to the snapshot's size first, grown
     * or shrunk, then the snapshot loaded; the same file byte for byte.
     */
    @Test
    void applyOfAnotherDiskSize() throws Exception {
        create("", "32M");
        Files.copy(dir.resolve("a.qcow2"), dir.resolve("b.qcow2"));
        steps("io:write -P 0x2a 24M 64k", "s:-c small", "img:resize 128M", "io:write -P 0x11 100M 64k", "s:-c big",
                "img:resize --shrink 64M", "s:-a big", "s:-l", "s:-a small", "s:-l", "io:write -P 5 0 64k",
                "s:-a big", "s:-d small", "s:-a 2");
        assertSameImages();
    }

    @Test
    void namesAndIds() throws Exception {
        create("", "16M");
        Files.copy(dir.resolve("a.qcow2"), dir.resolve("b.qcow2"));
        String longName = "n".repeat(300);
        steps("s:-c 7", "s:-c 7", "s:-c " + longName, "s:-c x", "s:-l", "s:-d 7", "s:-a 2", "s:-a " + longName,
                "s:-d " + longName, "s:-l");
        assertSameImages();
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private void create(String options, String size) {
        List<String> args = new ArrayList<>(List.of("create", "-q", "-f", "qcow2"));
        if (!options.isEmpty()) {
            args.add("-o");
            args.add(options);
        }
        args.add("a.qcow2");
        args.add(size);
        run(Qemu.img(dir, args.toArray(String[]::new)));
    }

    private void steps(String... steps) {
        for (String step : steps) {
            if (step.startsWith("img:")) {
                for (String f : List.of("a.qcow2", "b.qcow2")) {
                    List<String> args = new ArrayList<>(List.of(step.substring(4).split(" ")));
                    args.add(args.size() - 1, f); // resize's size comes last
                    run(Qemu.img(dir, args.toArray(String[]::new)));
                }
                continue;
            }
            if (step.startsWith("io:")) {
                for (String f : List.of("a.qcow2", "b.qcow2")) {
                    run(Qemu.io(dir, "-c", step.substring(3), f));
                }
                continue;
            }
            List<String> args = new ArrayList<>(List.of("snapshot"));
            for (String a : step.substring(2).split(" ")) {
                if (!a.isEmpty()) {
                    args.add(a);
                }
            }
            List<String> qa = new ArrayList<>(args);
            List<String> ba = new ArrayList<>(args);
            qa.add("a.qcow2");
            ba.add("b.qcow2");
            Qemu.Result q = Qemu.img(dir, qa.toArray(String[]::new));
            Cli.Result c = Cli.runIn(dir, ba.toArray(String[]::new));
            assertThat(c.exitCode()).as(step + ": " + c.err() + " vs " + q.err()).isEqualTo(q.exitCode());
            assertThat(maskDates(c.out())).as(step).isEqualTo(maskDates(q.out()));
            assertThat(c.err().replace("b.qcow2", "a.qcow2").replace("b.raw", "a.raw"))
                    .as(step).isEqualTo(q.err().replace("qemu-img", "q2")
                            .replace("with q2 check", "with qemu-img check")); // (a hint q2 repeats as is)
        }
    }

    private static void same(Qemu.Result q, Cli.Result c) {
        assertThat(c.exitCode()).as(c.err() + " vs " + q.err()).isEqualTo(q.exitCode());
        assertThat(c.out()).isEqualTo(q.out());
        assertThat(c.err()).isEqualTo(q.err().replace("qemu-img", "q2"));
    }

    private static String[] concat(String first, String[] rest) {
        String[] out = new String[rest.length + 1];
        out[0] = first;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }

    /** The DATE column of snapshot lists (wall-clock time of each tool's run). */
    private static String maskDates(String s) {
        return s.replaceAll("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d", "DATE");
    }

    private void assertSameImages() throws Exception {
        assertSameBytesAndCheck();
        // every snapshot's guest data as qemu-img reads it
        Qemu.Result list = Qemu.img(dir, "snapshot", "-l", "b.qcow2");
        int converted = 0;
        for (String line : list.out().split("\n")) {
            if (line.matches("^\\d+ .*") && converted++ < 16) { // (the first 16: a table may hold 65536)
                String id = line.split(" +")[0];
                run(Qemu.img(dir, "convert", "-l", "snapshot.id=" + id, "-O", "raw", "b.qcow2", "snap.raw"));
                assertThat(Files.size(dir.resolve("snap.raw"))).isPositive();
                Files.delete(dir.resolve("snap.raw"));
            }
        }
    }

    /** Both files byte for byte (snapshot dates masked), and qemu-img check's verdict on each the same. */
    private void assertSameBytesAndCheck() throws Exception {
        byte[] a = SnapshotFiles.maskDates(Files.readAllBytes(dir.resolve("a.qcow2")));
        byte[] b = SnapshotFiles.maskDates(Files.readAllBytes(dir.resolve("b.qcow2")));
        assertThat(b.length).isEqualTo(a.length);
        assertThat(ByteBuffer.wrap(b).mismatch(ByteBuffer.wrap(a))).as("first differing byte").isEqualTo(-1);
        Qemu.Result ca = Qemu.img(dir, "check", "a.qcow2");
        Qemu.Result cb = Qemu.img(dir, "check", "b.qcow2");
        assertThat(cb.exitCode()).isEqualTo(ca.exitCode());
        assertThat(cb.out()).isEqualTo(ca.out());
        assertThat(cb.err().replace("b.qcow2", "a.qcow2")).isEqualTo(ca.err());
    }

    private static void run(Qemu.Result r) {
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
    }
}
