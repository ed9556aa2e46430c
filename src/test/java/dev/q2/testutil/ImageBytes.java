package dev.q2.testutil;

import java.io.IOException;
import java.io.RandomAccessFile;
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

    /**
     * A leak as qemu-img check finds one, in an image of 64 KiB clusters and 16-bit refcounts: the refcount of
     * {@code cluster} (in the first refcount block) set to 1 and the file grown to hold the cluster.
     */
    public static void leakCluster(Path file, long cluster) {
        long block = readLong(file, readLong(file, 48)); // refcount_table_offset
        write(file, block + 2 * cluster, new byte[] {0, 1});
        write(file, (cluster + 1) * 65536 - 1, new byte[1]);
    }

    /**
     * Where the first header extension of {@code type} starts (its type; its length follows, then its data), or -1:
     * the extensions of a version 3 header, from header_length (bytes 100-103) to the end marker (type 0: where the
     * end marker is).
     */
    public static long findExtension(RandomAccessFile f, int type) throws IOException {
        f.seek(100);
        long p = f.readInt();
        while (true) {
            f.seek(p);
            int t = f.readInt();
            int len = f.readInt();
            if (t == type) {
                return p;
            }
            if (t == 0) {
                return -1;
            }
            p += 8 + ((len + 7) & ~7);
        }
    }

    /** The host offset of the L2 table that the first L1 entry points at; the image must have one. */
    public static long firstL2Table(Path file) {
        long l2 = readLong(file, readLong(file, L1_TABLE_OFFSET)) & 0x00ff_ffff_ffff_fe00L;
        assertThat(l2).as("L2 table of " + file).isNotZero();
        return l2;
    }

    /** A header extension: type, length, data padded to 8 bytes. */
    public static byte[] extension(int type, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + ((data.length + 7) & ~7));
        b.putInt(type).putInt(data.length).put(data);
        return b.array();
    }

    /** Inserts header extensions before the end marker and moves the backing file name, if any, after them. */
    public static void appendExtensions(Path image, byte[]... exts) throws IOException {
        byte[] file = java.nio.file.Files.readAllBytes(image);
        ByteBuffer h = ByteBuffer.wrap(file);
        long nameOffset = h.getLong(8);
        int nameSize = h.getInt(16);
        byte[] name = new byte[nameSize];
        System.arraycopy(file, (int) nameOffset, name, 0, nameSize);
        int pos = h.getInt(100); // header_length: the extensions follow
        while (h.getInt(pos) != 0) {
            pos += 8 + ((h.getInt(pos + 4) + 7) & ~7);
        }
        java.io.ByteArrayOutputStream tail = new java.io.ByteArrayOutputStream();
        for (byte[] e : exts) {
            tail.writeBytes(e);
        }
        tail.writeBytes(new byte[8]); // end of the extensions
        int newNameOffset = pos + tail.size();
        tail.writeBytes(name);
        byte[] t = tail.toByteArray();
        System.arraycopy(t, 0, file, pos, t.length);
        if (nameOffset != 0) {
            h.putLong(8, newNameOffset);
        }
        java.nio.file.Files.write(image, file);
    }
}
