package dev.q2.block;

import dev.q2.testutil.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static dev.q2.block.BlockStatus.ALLOCATED;
import static dev.q2.block.BlockStatus.DATA;
import static dev.q2.block.BlockStatus.EOF;
import static dev.q2.block.BlockStatus.OFFSET_VALID;
import static dev.q2.block.BlockStatus.ZERO;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Block status through the graph, on small images q2 makes itself (no qemu-img): runs in a second or two. */
class BlockGraphTest {
    private static final int K64 = 64 << 10;
    @TempDir
    Path dir;

    private void q2(String... args) {
        Cli.Result r = Cli.runIn(dir, args);
        assertThat(r.exitCode()).as(String.join(" ", args) + ": " + r.err()).isZero();
    }

    private BlockGraph open(String name) throws Exception {
        return BlockGraph.open(dir, name, null, false);
    }

    @Test
    void layeredChain() throws Exception {
        q2("create", "-q", "-f", "qcow2", "base.qcow2", "1M");
        q2("io", "-c", "write -P 1 0 64k", "base.qcow2");
        q2("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "top.qcow2", "1M");
        q2("io", "-c", "write -P 2 128k 64k", "-c", "write -z 256k 64k", "top.qcow2");
        try (BlockGraph g = open("top.qcow2")) {
            assertThat(g.length()).isEqualTo(1 << 20);
            assertThat(g.filename()).isEqualTo("top.qcow2");
            // the backing file's data, seen through the top
            BlockStatus.Run r = g.statusAbove(0, 1 << 20);
            assertThat(r.flags()).isEqualTo(DATA | OFFSET_VALID | ALLOCATED);
            assertThat(r.length()).isEqualTo(K64);
            assertThat(r.depth()).isEqualTo(1);
            assertThat(r.filename()).isEqualTo("base.qcow2");
            // the top's own data
            r = g.statusAbove(128 << 10, K64);
            assertThat(r.has(DATA) && r.has(ALLOCATED)).isTrue();
            assertThat(r.depth()).isZero();
            assertThat(r.filename()).isEqualTo("top.qcow2");
            // a zero cluster of the top: allocated zeros, hiding the backing file
            r = g.statusAbove(256 << 10, K64);
            assertThat(r.flags()).isEqualTo(ZERO | ALLOCATED);
            // nothing anywhere: zeros of the bottom layer, not allocated, to the end of the image
            r = g.statusAbove(320 << 10, (1 << 20) - (320 << 10));
            assertThat(r.flags()).isEqualTo(ZERO | EOF);
            assertThat(r.length()).isEqualTo((1 << 20) - (320 << 10));
            // qemu-img map's walk: each layer's own answer until one has data or zeros
            r = g.statusByLayer(64 << 10, K64);
            assertThat(r.flags()).isEqualTo(ZERO);
            assertThat(r.depth()).isEqualTo(1);
            r = g.statusByLayer(0, 1 << 20);
            assertThat(r.depth()).isEqualTo(1);
            assertThat(r.offset()).isNotZero(); // a host offset in base.qcow2, past its metadata
        }
    }

    @Test
    void unallocatedWithoutBackingReadsAsZeros() throws Exception {
        q2("create", "-q", "-f", "qcow2", "a.qcow2", "2M");
        try (BlockGraph g = open("a.qcow2")) {
            BlockStatus.Run r = g.statusAbove(0, 2 << 20);
            assertThat(r.flags()).isEqualTo(ZERO | EOF);
            assertThat(r.length()).isEqualTo(2 << 20);
            assertThat(g.statusAbove(2 << 20, 512).length()).isZero(); // past the end
        }
    }

    @Test
    void dataFileIsNamedAsTheImageNamesIt() throws Exception {
        q2("create", "-q", "-f", "qcow2", "-o", "data_file=d.raw", "d.qcow2", "1M");
        q2("io", "-c", "write -P 7 64k 64k", "d.qcow2");
        try (BlockGraph g = open("d.qcow2")) {
            BlockStatus.Run r = g.statusByLayer(64 << 10, K64);
            assertThat(r.has(DATA) && r.has(OFFSET_VALID)).isTrue();
            assertThat(r.filename()).isEqualTo("d.raw");
            assertThat(r.offset()).isEqualTo(64 << 10); // an external data file maps guest offsets 1:1 here
        }
    }

    @Test
    void rawImageAnswersWithItsFile() throws Exception {
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(dir.resolve("r.raw").toFile(), "rw")) {
            f.setLength(1 << 20);
        }
        try (BlockGraph g = open("r.raw")) {
            BlockStatus.Run r = g.statusAbove(0, 1 << 20);
            assertThat(r.has(ZERO) || r.has(DATA)).isTrue();
            assertThat(r.has(OFFSET_VALID)).isTrue();
            assertThat(r.filename()).isEqualTo("r.raw");
        }
    }

    @Test
    void openErrorsInQemusWords() {
        assertThatThrownBy(() -> open("missing.qcow2"))
                .hasMessage("Could not open 'missing.qcow2': No such file or directory");
        assertThat(OpenErrors.imageOpenFailure("", dir.resolve(""), new java.io.IOException("x")))
                .isEqualTo("Could not open '': The 'file' block driver requires a file name");
        assertThat(OpenErrors.imageOpenFailure("f", dir, new java.io.IOException("x")))
                .isEqualTo("Could not open 'f': 'file' driver requires 'f' to be a regular file");
        assertThat(OpenErrors.imageOpenFailure("m", dir.resolve("m"),
                new java.nio.file.NoSuchFileException(dir.resolve("m").toString())))
                .isEqualTo("Could not open 'm': Could not open 'm': No such file or directory");
    }
}
