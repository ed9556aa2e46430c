package dev.q2.guestio;

import dev.q2.io.Storage;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The guest data of an open image as the storage of another image: QEMU's format node used as the {@code file} of
 * another ({@code driver=qcow2,file.driver=qcow2,file.file.filename=F}, iotests 072 and 089). Its size is the inner
 * image's guest size and cannot change (QEMU's qcow2 node does not grow its file by writing past the end either).
 */
public final class FormatNodeStorage implements Storage {
    private final GuestDisk disk;
    private final boolean writable;

    /**
     * @param disk the inner image (closed with this storage)
     * @param writable whether the outer image may write
     */
    public FormatNodeStorage(GuestDisk disk, boolean writable) {
        this.disk = disk;
        this.writable = writable;
    }

    @Override
    public int read(long position, ByteBuffer dst) throws IOException {
        long left = disk.size() - position;
        if (left <= 0) {
            return -1; // the end of the inner image's guest data
        }
        ByteBuffer part = dst.slice(dst.position(), (int) Math.min(dst.remaining(), left));
        disk.read(position, part);
        dst.position(dst.position() + part.limit());
        return part.limit();
    }

    @Override
    public void flush() throws IOException {
        disk.flush();
    }

    @Override
    public int write(long position, ByteBuffer src) throws IOException {
        if (!writable) {
            throw new IOException("Bad file descriptor");
        }
        int n = src.remaining();
        if (position < 0 || position + n > disk.size()) {
            throw new IOException("Input/output error (a write past the end of a format node)");
        }
        disk.write(position, src.slice(src.position(), n));
        src.position(src.position() + n);
        return n;
    }

    @Override
    public long size() {
        return disk.size();
    }

    @Override
    public void setSize(long size) throws IOException {
        if (size != disk.size()) {
            throw new IOException("Cannot resize a format node used as the file of another image");
        }
    }

    @Override
    public boolean writable() {
        return writable;
    }

    @Override
    public String name() {
        return "format node (" + disk.format() + ")";
    }

    @Override
    public void close() throws IOException {
        disk.close();
    }
}
