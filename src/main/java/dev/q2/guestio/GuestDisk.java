package dev.q2.guestio;

import dev.q2.image.Qcow2Disk;

import java.io.IOException;
import java.nio.ByteBuffer;

/** What q2 io reads and writes: a qcow2 image (q2's engine) or a raw file. */
public interface GuestDisk extends AutoCloseable {
    /** The format's name as qemu-io prints it ("qcow2", "raw"). */
    String format();

    /** Guest size in bytes (a raw file's size rounded up to whole sectors, as QEMU counts it). */
    long size();

    void read(long offset, ByteBuffer dst) throws IOException;

    void write(long offset, ByteBuffer src) throws IOException;

    void writeZeroes(long offset, long length, boolean unmap) throws IOException;

    void discard(long offset, long length) throws IOException;

    void flush() throws IOException;

    /** The qcow2 engine under this disk, or null for a raw file. */
    Qcow2Disk qcow2();

    @Override
    void close() throws IOException;

    /** A qcow2 image opened by q2's engine. */
    static GuestDisk of(Qcow2Disk disk) {
        return of(disk, false);
    }

    /** A qcow2 image opened by q2's engine, read with copy-on-read ({@link CopyOnRead}) or not. */
    static GuestDisk of(Qcow2Disk disk, boolean copyOnRead) {
        return new GuestDisk() {
            @Override
            public String format() {
                return "qcow2";
            }

            @Override
            public long size() {
                return disk.size();
            }

            @Override
            public void read(long offset, ByteBuffer dst) throws IOException {
                if (copyOnRead && dst.hasRemaining()) {
                    CopyOnRead.copyIn(disk, offset, dst.remaining());
                }
                disk.read(offset, dst);
            }

            @Override
            public void write(long offset, ByteBuffer src) throws IOException {
                disk.write(offset, src);
            }

            @Override
            public void writeZeroes(long offset, long length, boolean unmap) throws IOException {
                disk.writeZeroes(offset, length, unmap);
            }

            @Override
            public void discard(long offset, long length) throws IOException {
                disk.discard(offset, length, false);
            }

            @Override
            public void flush() throws IOException {
                disk.flush();
            }

            @Override
            public Qcow2Disk qcow2() {
                return disk;
            }

            @Override
            public void close() throws IOException {
                disk.close();
            }
        };
    }
}
