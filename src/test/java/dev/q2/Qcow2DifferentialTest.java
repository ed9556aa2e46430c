package dev.q2;

import dev.q2.testutil.ImageBytes;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The library facade against qemu-img and qemu-io: what it reads, maps, writes and checks. */
@Tag("qemu")
class Qcow2DifferentialTest extends QemuTest {
    @Override
    protected Qemu.Result io(String image, String... commands) {
        Qemu.Result r = super.io(image, commands);
        assertThat(r.out()).doesNotContain("error", "failed");
        return r;
    }

    private Path chain() {
        img("create", "-q", "-f", "qcow2", "base.qcow2", "1M");
        io("base.qcow2", "write -P 1 0 64k", "write -P 5 700k 3k");
        img("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "top.qcow2");
        io("top.qcow2", "write -P 2 128k 64k", "write -z 512k 64k", "write -P 3 1020k 4k");
        return dir.resolve("top.qcow2");
    }

    private static String json(Extent e) {
        return "{ \"start\": " + e.start() + ", \"length\": " + e.length() + ", \"depth\": " + e.depth()
                + ", \"present\": " + e.present() + ", \"zero\": " + e.zero() + ", \"data\": " + e.data()
                + (e.hasOffset() ? ", \"offset\": " + e.offset() : "") + "}";
    }

    @Test
    void mapOfABackingChainIsQemuImgMaps() throws IOException {
        Path top = chain();
        List<String> ours = Qcow2.map(top, false).stream().map(Qcow2DifferentialTest::json).toList();
        Qemu.Result r = Qemu.img(dir, "map", "--output=json", "top.qcow2");
        List<String> theirs = r.out().lines().map(l -> l.replaceAll("^\\[|,$|]$", "")).toList();
        assertThat(ours).hasSizeGreaterThan(3).isEqualTo(theirs);
    }

    @Test
    void guestBytesAreWhatQemuImgConvertGives() throws IOException {
        Path top = chain();
        img("convert", "-O", "raw", "top.qcow2", "top.raw");
        byte[] expected = Files.readAllBytes(dir.resolve("top.raw"));
        try (Image image = Qcow2.open(top, OpenOptions.readOnly()); InputStream in = image.inputStream(0)) {
            assertThat(in.readAllBytes()).isEqualTo(expected);
        }
    }

    @Test
    void channelWritesLeaveAnImageQemuImgFindsCleanWithTheSameBytes() throws IOException {
        Path path = dir.resolve("w.qcow2");
        Qcow2.create(path, ImageSpec.builder(4L << 20).extendedL2(true).clusterSize(64 * 1024).build());
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        byte[] model = new byte[4 << 20];
        try (Image image = Qcow2.open(path, OpenOptions.readWrite());
             SeekableByteChannel ch = image.channel(true)) {
            for (int i = 0; i < 60; i++) {
                int len = 1 + rnd.nextInt(9000);
                int pos = rnd.nextInt(model.length - len);
                byte[] data = new byte[len];
                rnd.nextBytes(data);
                System.arraycopy(data, 0, model, pos, len);
                ch.position(pos);
                ByteBuffer b = ByteBuffer.wrap(data);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            }
            image.writeZeroes(1 << 20, 128 * 1024);
            java.util.Arrays.fill(model, 1 << 20, (1 << 20) + 128 * 1024, (byte) 0);
        }
        Qemu.Result check = Qemu.img(dir, "check", "w.qcow2");
        assertThat(check.exitCode()).as("seed " + seed + ": " + check.out() + check.err()).isZero();
        img("convert", "-O", "raw", "w.qcow2", "w.raw");
        assertThat(Files.readAllBytes(dir.resolve("w.raw"))).as("seed " + seed).isEqualTo(model);
    }

    @Test
    void checkCountsAreQemuImgChecks() throws IOException {
        Path top = chain();
        CheckSummary ours = Qcow2.check(top, Repair.NONE);
        Qemu.Result r = Qemu.img(dir, "check", "--output=json", "top.qcow2");
        assertThat(r.out()).contains("\"image-end-offset\": " + ours.imageEndOffset() + ",",
                "\"total-clusters\": " + ours.totalClusters() + ",",
                "\"allocated-clusters\": " + ours.allocatedClusters() + ",");
        assertThat(ours.clean()).isTrue();

        // a leak qemu-img reports the same way, repaired on a copy
        Path copy = dir.resolve("copy.qcow2");
        Files.copy(top, copy);
        ImageBytes.leakCluster(copy, 20); // cluster 20: referenced by nothing
        Qemu.Result q = Qemu.img(dir, "check", "copy.qcow2");
        CheckSummary leaky = Qcow2.check(copy, Repair.NONE);
        assertThat(leaky.exitCode()).isEqualTo(q.exitCode()).isEqualTo(3);
        assertThat(String.join("\n", leaky.messages())).isEqualTo(q.err().strip());
        CheckSummary repaired = Qcow2.check(copy, Repair.ALL);
        assertThat(repaired.leaksFixed()).isEqualTo(1);
        assertThat(Qemu.img(dir, "check", "copy.qcow2").exitCode()).isZero();
    }
}
