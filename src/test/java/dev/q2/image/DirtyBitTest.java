package dev.q2.image;

import dev.q2.format.Features;
import dev.q2.format.QcowHeader;
import dev.q2.testutil.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The dirty and corrupt bits, as QEMU handles them for images opened for writing. */
class DirtyBitTest {
    @TempDir
    Path dir;

    private QcowHeader header() throws Exception {
        return QcowHeader.decode(ByteBuffer.wrap(Files.readAllBytes(dir.resolve("img.qcow2")), 0, 112));
    }

    @Test
    void lazyRefcountsSetTheDirtyBitWhileWritingAndClearItOnClose() throws Exception {
        assertThat(Cli.runIn(dir, "create", "-q", "-o", "lazy_refcounts=on", "img.qcow2", "4M").exitCode()).isZero();
        try (Qcow2Disk d = Qcow2Disk.open(dir.resolve("img.qcow2"), DiskOptions.readWrite())) {
            assertThat(header().hasFeature(Features.INCOMPAT_DIRTY)).as("not before the first write").isFalse();
            d.write(0, ByteBuffer.allocate(4096));
            assertThat(header().hasFeature(Features.INCOMPAT_DIRTY)).as("set before data is written").isTrue();
        }
        assertThat(header().hasFeature(Features.INCOMPAT_DIRTY)).as("cleared on close").isFalse();
        assertThat(Cli.runIn(dir, "check", "img.qcow2").exitCode()).isZero();
    }

    @Test
    void withoutLazyRefcountsTheDirtyBitIsNeverSet() throws Exception {
        assertThat(Cli.runIn(dir, "create", "-q", "img.qcow2", "4M").exitCode()).isZero();
        try (Qcow2Disk d = Qcow2Disk.open(dir.resolve("img.qcow2"), DiskOptions.readWrite())) {
            d.write(0, ByteBuffer.allocate(4096));
            assertThat(header().hasFeature(Features.INCOMPAT_DIRTY)).isFalse();
        }
    }

    @Test
    void corruptImagesAreRefusedForWritingButRead() throws Exception {
        assertThat(Cli.runIn(dir, "create", "-q", "img.qcow2", "4M").exitCode()).isZero();
        try (var raf = new java.io.RandomAccessFile(dir.resolve("img.qcow2").toFile(), "rw")) {
            raf.seek(72);
            raf.writeLong(Features.INCOMPAT_CORRUPT);
        }
        assertThatThrownBy(() -> Qcow2Disk.open(dir.resolve("img.qcow2"), DiskOptions.readWrite()))
                .hasMessageContaining("Image is corrupt; cannot be opened read/write");
        try (Qcow2Disk d = Qcow2Disk.open(dir.resolve("img.qcow2"), DiskOptions.readOnly())) {
            d.read(0, ByteBuffer.allocate(512));
        }
        Cli.Result io = Cli.runIn(dir, "io", "-c", "write 0 512", "img.qcow2");
        assertThat(io.exitCode()).isEqualTo(1);
        assertThat(io.err().lines().count()).isEqualTo(1);
    }
}
