package dev.q2.io;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The {@link Storage} contract, for the file and the memory implementation alike. */
class StorageTest {
    @TempDir
    Path dir;

    private Storage open(String kind) throws IOException {
        if (kind.equals("memory")) {
            return new MemoryStorage();
        }
        Path f = dir.resolve("s.bin");
        Files.write(f, new byte[0]);
        return FileStorage.openReadWrite(f);
    }

    private static ByteBuffer bytes(int n, int seed) {
        ByteBuffer b = ByteBuffer.allocate(n);
        for (int i = 0; i < n; i++) {
            b.put((byte) (i * 31 + seed));
        }
        return b.flip();
    }

    @ParameterizedTest
    @ValueSource(strings = {"file", "memory"})
    void writesGrowWithZeroGapsAndReadsStopAtTheEnd(String kind) throws IOException {
        try (Storage s = open(kind)) {
            assertThat(s.size()).isZero();
            assertThat(s.writable()).isTrue();
            // a write that crosses a 64 KiB chunk boundary, far from the start
            int n = s.write(200_000, bytes(70_000, 1));
            assertThat(n).isEqualTo(70_000);
            assertThat(s.size()).isEqualTo(270_000);
            ByteBuffer gap = ByteBuffer.allocate(1000);
            assertThat(s.read(100_000, gap)).isEqualTo(1000);
            assertThat(gap.array()).containsOnly(0);
            ByteBuffer back = ByteBuffer.allocate(70_000);
            int got = 0;
            while (back.hasRemaining()) {
                got += s.read(200_000 + got, back);
            }
            assertThat(back.flip()).isEqualTo(bytes(70_000, 1));
            ByteBuffer tail = ByteBuffer.allocate(100);
            assertThat(s.read(269_950, tail)).isEqualTo(50); // partial at the end
            assertThat(s.read(270_000, ByteBuffer.allocate(10))).isEqualTo(-1);
            assertThat(s.read(999_999, ByteBuffer.allocate(10))).isEqualTo(-1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"file", "memory"})
    void setSizeCutsAndGrowsWithZeros(String kind) throws IOException {
        try (Storage s = open(kind)) {
            s.write(0, bytes(100_000, 7));
            s.setSize(70_000);
            assertThat(s.size()).isEqualTo(70_000);
            s.setSize(100_000);
            ByteBuffer b = ByteBuffer.allocate(30_000);
            assertThat(s.read(70_000, b)).isEqualTo(30_000);
            assertThat(b.array()).as("bytes cut and grown again read as zeros").containsOnly(0);
            ByteBuffer kept = ByteBuffer.allocate(10);
            s.read(0, kept);
            assertThat(kept.flip()).isEqualTo(bytes(10, 7));
            s.flush();
        }
    }

    @Test
    void readOnlyStoragesRefuseWrites() throws IOException {
        Path f = dir.resolve("ro.bin");
        Files.write(f, new byte[] {1, 2, 3});
        try (FileStorage s = FileStorage.openReadOnly(f)) {
            assertThat(s.writable()).isFalse();
            assertThatThrownBy(() -> s.write(0, ByteBuffer.allocate(1))).isInstanceOf(RuntimeException.class);
            assertThatThrownBy(() -> s.setSize(0)).isInstanceOf(RuntimeException.class);
        }
        MemoryStorage m = MemoryStorage.of(new byte[] {1, 2, 3});
        Storage view = m.readOnlyView();
        assertThat(view.writable()).isFalse();
        assertThatThrownBy(() -> view.write(0, ByteBuffer.allocate(1))).isInstanceOf(IOException.class);
        m.write(3, ByteBuffer.wrap(new byte[] {4}));
        assertThat(view.size()).as("the view shares the contents").isEqualTo(4);
    }

    @Test
    void memoryIsSparseAndReusableAfterClose() throws IOException {
        MemoryStorage m = new MemoryStorage();
        m.setSize(1L << 40); // 1 TiB costs nothing until written
        m.write((1L << 40) - 1, ByteBuffer.wrap(new byte[] {9}));
        m.close();
        ByteBuffer b = ByteBuffer.allocate(2);
        assertThat(m.read((1L << 40) - 2, b)).isEqualTo(2);
        assertThat(b.array()).containsExactly(0, 9);
        assertThatThrownBy(() -> m.toByteArray()).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> m.read(-5, ByteBuffer.allocate(1))).isInstanceOf(IOException.class);
        assertThat(MemoryStorage.of(new byte[] {5, 6}).toByteArray()).containsExactly(5, 6);
    }

    @Test
    void imageFileReadsAndWritesThroughAnyStorage() throws IOException {
        MemoryStorage m = new MemoryStorage();
        try (ImageFile f = new ImageFile(m)) {
            assertThat(f.channel()).isNull();
            assertThat(f.path()).isNull();
            f.writeFully(10, bytes(20, 3));
            ByteBuffer z = ByteBuffer.allocate(40);
            f.readZeroFilled(0, z);
            assertThat(z.array()[9]).isZero();
            assertThatThrownBy(() -> f.readFully(25, ByteBuffer.allocate(10)))
                    .hasMessageContaining("runs past the end of memory");
            assertThat(f.punchHole(0, 4096)).isFalse();
            assertThat(f.bytesWritten()).isEqualTo(20);
        }
    }
}
