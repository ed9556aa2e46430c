package dev.q2;

import dev.q2.create.Preallocation;
import dev.q2.io.MemoryStorage;
import dev.q2.testutil.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The library facade over memory and files, without qemu-img (Qcow2DifferentialTest compares with it). */
class Qcow2Test {
    @TempDir
    Path dir;

    private static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 7 + seed);
        }
        return b;
    }

    private static MemoryStorage memoryImage(ImageSpec spec) throws IOException {
        MemoryStorage m = new MemoryStorage();
        Qcow2.create(m, spec);
        return m;
    }

    @Test
    void createsInMemoryExactlyWhatItCreatesInAFile() throws IOException {
        ImageSpec spec = ImageSpec.builder(10L << 20).extendedL2(true).clusterSize(128 * 1024)
                .preallocation(Preallocation.METADATA).build();
        MemoryStorage m = memoryImage(spec);
        Path f = dir.resolve("f.qcow2");
        Qcow2.create(f, spec);
        assertThat(m.toByteArray()).isEqualTo(Files.readAllBytes(f));
    }

    @Test
    void writesAndReadsGuestBytesInMemory() throws IOException {
        MemoryStorage m = memoryImage(ImageSpec.builder(1L << 20).extendedL2(true).build());
        try (Image image = Qcow2.open(m, OpenOptions.readWrite())) {
            assertThat(image.size()).isEqualTo(1L << 20);
            assertThat(image.extendedL2()).isTrue();
            assertThat(image.write(5000, ByteBuffer.wrap(pattern(3000, 1)))).isEqualTo(3000);
        }
        assertThat(Qcow2.check(m, Repair.NONE, null).clean()).isTrue();
        try (Image image = Qcow2.open(m, OpenOptions.readOnly())) {
            ByteBuffer b = ByteBuffer.allocate(4000);
            assertThat(image.read(4500, b)).isEqualTo(4000);
            byte[] want = new byte[4000];
            System.arraycopy(pattern(3000, 1), 0, want, 500, 3000);
            assertThat(b.array()).isEqualTo(want);
            assertThat(image.l2CacheMisses()).as("the read looked up its L2 table").isEqualTo(1);
            assertThatThrownBy(() -> image.write(0, ByteBuffer.allocate(1))).isInstanceOf(Q2Exception.class)
                    .hasMessage("The image is open read-only");
        }
    }

    @Test
    void positionedAccessIsBoundsChecked() throws IOException {
        MemoryStorage m = memoryImage(ImageSpec.builder(64 * 1024).build());
        try (Image image = Qcow2.open(m, OpenOptions.readWrite())) {
            assertThatThrownBy(() -> image.read(-5, ByteBuffer.allocate(1)))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> image.write(-5, ByteBuffer.allocate(1)))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThat(image.read(64 * 1024, ByteBuffer.allocate(1))).isEqualTo(-1);
            assertThat(image.read(64 * 1024, ByteBuffer.allocate(0))).isZero();
            ByteBuffer b = ByteBuffer.allocate(100);
            assertThat(image.read(64 * 1024 - 30, b)).isEqualTo(30);
            assertThat(b.position()).isEqualTo(30);
            assertThatThrownBy(() -> image.write(64 * 1024 - 1, ByteBuffer.allocate(2)))
                    .isInstanceOf(Q2Exception.class)
                    .satisfies(e -> assertThat(((Q2Exception) e).category())
                            .isEqualTo(Q2Exception.Category.INVALID_ARGUMENT));
            assertThatThrownBy(() -> image.inputStream(-1)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void channelMovesItsPositionAndRespectsItsMode() throws IOException {
        MemoryStorage m = memoryImage(ImageSpec.builder(128 * 1024).build());
        try (Image image = Qcow2.open(m, OpenOptions.readWrite())) {
            try (SeekableByteChannel ch = image.channel(true)) {
                ch.position(65_000);
                assertThat(ch.write(ByteBuffer.wrap(pattern(1000, 2)))).isEqualTo(1000);
                assertThat(ch.position()).isEqualTo(66_000);
                assertThat(ch.size()).isEqualTo(128 * 1024);
                assertThatThrownBy(() -> ch.position(-1)).isInstanceOf(IllegalArgumentException.class);
                ch.position(128 * 1024 - 10);
                ByteBuffer b = ByteBuffer.allocate(64);
                assertThat(ch.read(b)).isEqualTo(10);
                assertThat(ch.read(b)).isEqualTo(-1);
                ch.position(1L << 40);
                assertThat(ch.read(ByteBuffer.allocate(1))).isEqualTo(-1);
                assertThatThrownBy(() -> ch.write(ByteBuffer.allocate(1))).isInstanceOf(Q2Exception.class);
            }
            SeekableByteChannel ro = image.channel(false);
            assertThatThrownBy(() -> ro.write(ByteBuffer.allocate(1))).isInstanceOf(NonWritableChannelException.class);
            ro.position(65_000);
            ByteBuffer b = ByteBuffer.allocate(1000);
            while (b.hasRemaining() && ro.read(b) > 0) {
                // fills
            }
            assertThat(b.array()).isEqualTo(pattern(1000, 2));
        }
    }

    @Test
    void inputStreamReadsTheWholeDiskThenEnds() throws IOException {
        MemoryStorage m = memoryImage(ImageSpec.builder(192 * 1024).build());
        try (Image image = Qcow2.open(m, OpenOptions.readWrite())) {
            image.write(190 * 1024, ByteBuffer.wrap(pattern(2048, 3)));
            image.flush();
            try (InputStream in = image.inputStream(0)) {
                byte[] all = in.readAllBytes();
                assertThat(all).hasSize(192 * 1024);
                byte[] tail = java.util.Arrays.copyOfRange(all, 190 * 1024, 192 * 1024);
                assertThat(tail).isEqualTo(pattern(2048, 3));
                assertThat(in.read()).isEqualTo(-1);
            }
            try (InputStream in = image.inputStream(192 * 1024 - 1)) {
                assertThat(in.read()).isEqualTo(pattern(2048, 3)[2047] & 0xff);
                assertThat(in.read()).isEqualTo(-1);
            }
        }
    }

    @Test
    void specErrorsAreQ2CreatesMessages() throws IOException {
        record Case(ImageSpec.Builder spec, String option) {
        }
        List<Case> cases = List.of(
                new Case(ImageSpec.builder(1 << 20).compat(ImageSpec.Compat.V2).extendedL2(true),
                        "compat=0.10,extended_l2=on"),
                new Case(ImageSpec.builder(1 << 20).clusterSize(1000), "cluster_size=1000"),
                new Case(ImageSpec.builder(1 << 20).refcountBits(3), "refcount_bits=3"),
                new Case(ImageSpec.builder(1 << 20).extendedL2(true).clusterSize(4096), "extended_l2=on,cluster_size=4096"),
                new Case(ImageSpec.builder(1 << 20).compat(ImageSpec.Compat.V2).lazyRefcounts(true),
                        "compat=0.10,lazy_refcounts=on"));
        List<String> checked = new ArrayList<>();
        for (Case c : cases) {
            Cli.Result cli = Cli.runIn(dir, "create", "-f", "qcow2", "-o", c.option(), "x.qcow2", "1M");
            assertThat(cli.exitCode()).as(c.option()).isEqualTo(1);
            String expected = cli.err().strip().replaceFirst("^q2: x\\.qcow2: ", "");
            assertThatThrownBy(c.spec()::build).as(c.option()).isInstanceOf(Q2Exception.class)
                    .hasMessage(expected);
            checked.add(expected);
        }
        assertThat(checked).doesNotContainNull().hasSize(cases.size());
        // a backing file of any name passes build(): the new image's name is not known yet
        assertThat(ImageSpec.builder(1 << 20).backingFile("new.qcow2", ImageFormat.QCOW2).build().backingFile())
                .isEqualTo("new.qcow2");
        assertThatThrownBy(() -> ImageSpec.builder(-1).build()).isInstanceOf(Q2Exception.class)
                .hasMessageStartingWith("Invalid image size specified");
    }

    @Test
    void storageImagesThatNameOtherFilesAreRefusedClearly() throws IOException {
        MemoryStorage m = memoryImage(ImageSpec.builder(1 << 20).backingFile("base.qcow2", ImageFormat.QCOW2).build());
        assertThatThrownBy(() -> Qcow2.open(m, OpenOptions.readOnly())).isInstanceOf(Q2Exception.class)
                .hasMessageContaining("backing file ('base.qcow2')")
                .satisfies(e -> assertThat(((Q2Exception) e).category()).isEqualTo(Q2Exception.Category.UNSUPPORTED));
        try (Image image = Qcow2.open(m, OpenOptions.readOnly().withBackingChain(false))) {
            ByteBuffer b = ByteBuffer.allocate(16);
            image.read(0, b);
            assertThat(b.array()).containsOnly(0);
        }
        assertThatThrownBy(() -> Qcow2.open(m.readOnlyView(), OpenOptions.readWrite()))
                .isInstanceOf(Q2Exception.class);
        assertThatThrownBy(() -> Qcow2.open(MemoryStorage.of(new byte[512]), OpenOptions.readOnly()))
                .isInstanceOf(Q2Exception.class).hasMessage("Image is not in qcow2 format");
    }

    @Test
    void checkRepairsLeaksInMemoryAndReportsWhatItDid() throws IOException {
        MemoryStorage m = memoryImage(ImageSpec.builder(1 << 20).build());
        // a leaked cluster: raise the refcount of a cluster nothing references (the 4th, past the L1 table)
        byte[] b = m.toByteArray();
        ByteBuffer bb = ByteBuffer.wrap(b);
        long reftable = bb.getLong(48);
        long block = bb.getLong((int) reftable);
        m.write(block + 2 * 6, ByteBuffer.wrap(new byte[] {0, 1}));
        m.setSize(Math.max(m.size(), 7 * 65536));
        List<String> seen = new ArrayList<>();
        CheckSummary before = Qcow2.check(m, Repair.NONE, seen::add);
        assertThat(before.leaks()).isEqualTo(1);
        assertThat(before.exitCode()).isEqualTo(3);
        assertThat(seen).isEqualTo(before.messages()).anyMatch(l -> l.startsWith("Leaked cluster 6"));
        CheckSummary after = Qcow2.check(m, Repair.LEAKS, null);
        assertThat(after.leaksFixed()).isEqualTo(1);
        assertThat(after.clean()).isTrue();
    }

    @Test
    void cacheReportAndInfoOfAFile() throws IOException {
        Path f = dir.resolve("c.qcow2");
        Qcow2.create(f, ImageSpec.builder(1L << 40).extendedL2(true).clusterSize(128 * 1024).build());
        CacheReport r = Qcow2.cacheReport(f, false);
        assertThat(r.l2EntrySize()).isEqualTo(16);
        assertThat(r.l2EntriesPerTable()).isEqualTo(8192);
        assertThat(r.allocationUnit()).isEqualTo(4096);
        assertThat(r.fullCoverageBytes()).isEqualTo(128L << 20); // 1024 tables of 128 KiB, each mapping 1 GiB
        assertThat(r.qemuOption()).isEqualTo("l2-cache-size=134217728");
        assertThat(r.allocatedL2Tables()).isZero();
        assertThat(Qcow2.cacheReport(MemoryStorage.copyOf(f))).isEqualTo(r);
        ImageSummary info = Qcow2.info(f, false);
        assertThat(info.format()).isEqualTo("qcow2");
        assertThat(info.virtualSize()).isEqualTo(1L << 40);
        assertThat(info.clusterSize()).isEqualTo(128 * 1024);
        assertThat(info.extendedL2()).isTrue();
        assertThat(info.compat()).isEqualTo("1.1");
        assertThat(info.backingFile()).isNull();
    }
}
