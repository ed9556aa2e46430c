package dev.q2.testutil;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.assertj.core.api.Assertions.assertThat;

/** Reads and patches the bytes of an image file, for tests that damage metadata on purpose (big-endian, as qcow2). */
public final class ImageBytes {
    /** Header field l1_table_offset (qcow2.txt: bytes 40-47). */
    public static final long L1_TABLE_OFFSET = 40;

    private ImageBytes() {
    }

    /** The eight bytes at {@code at}, as a big-endian number. */
    public static long readLong(Path file, long at) {
        try (FileChannel f = FileChannel.open(file)) {
            ByteBuffer b = ByteBuffer.allocate(8);
            f.read(b, at);
            return b.flip().getLong();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Overwrites the eight bytes at {@code at} with {@code value}, big-endian. */
    public static void writeLong(Path file, long at, long value) {
        write(file, at, ByteBuffer.allocate(8).putLong(value).array());
    }

    /** Overwrites the file's bytes at {@code at} with {@code bytes}. */
    public static void write(Path file, long at, byte[] bytes) {
        try (FileChannel f = FileChannel.open(file, StandardOpenOption.WRITE)) {
            f.write(ByteBuffer.wrap(bytes), at);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The host offset of the L2 table that the first L1 entry points at; the image must have one. */
    public static long firstL2Table(Path file) {
        long l2 = readLong(file, readLong(file, L1_TABLE_OFFSET)) & 0x00ff_ffff_ffff_fe00L;
        assertThat(l2).as("L2 table of " + file).isNotZero();
        return l2;
    }
}
