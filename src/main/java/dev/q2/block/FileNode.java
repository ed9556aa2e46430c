package dev.q2.block;

import dev.q2.io.NativeFiles;
import dev.q2.io.ImageFile;

import java.io.IOException;

/**
 * A file as QEMU's file-posix protocol driver reports it: data where {@code lseek(SEEK_DATA)} finds data, zeros in
 * holes and past the end of the file, each with its own offset as the host offset. Without the native helper it
 * answers as Linux does for a file system without hole support: all data up to the end of the file.
 */
final class FileNode extends Node {
    private final ImageFile file;
    private final long realSize;
    private final long length;
    private int fd = -1;
    private boolean fdTried;
    // The last data extent and the last hole found, so that neighbouring queries cost no system call. The answer
    // for any offset inside them is what lseek would say again (the file is not changing under a read-only map).
    private long dataStart = -1;
    private long dataEnd = -1;
    private long holeStart = -1;
    private long holeEnd = -1;

    FileNode(String filename, ImageFile file) throws IOException {
        super(filename);
        this.file = file;
        this.realSize = file.size();
        this.length = sectorsRoundedUp(realSize);
    }

    ImageFile file() {
        return file;
    }

    @Override
    long length() {
        return length;
    }

    /** st_blocks × 512 of the file, as QEMU's bdrv_get_allocated_file_size reports it. */
    long allocatedBytes() throws IOException {
        int f = fd();
        if (f >= 0) {
            long n = NativeFiles.allocatedBytes(f);
            if (n >= 0) {
                return n;
            }
        }
        return dev.q2.info.DiskUsage.allocatedBytes(file.path());
    }

    private int fd() {
        if (!fdTried) {
            fdTried = true;
            if (NativeFiles.available()) {
                int f = NativeFiles.open(file.path());
                fd = f >= 0 ? f : -1;
            }
        }
        return fd;
    }

    @Override
    int driverStatus(long offset, long bytes, BlockStatus.Result r) {
        r.map = offset;
        r.file = this;
        if (offset >= dataStart && offset < dataEnd) {
            r.pnum = dataEnd - offset;
            return BlockStatus.DATA | BlockStatus.OFFSET_VALID;
        }
        if (offset >= holeStart && offset < holeEnd) {
            r.pnum = holeEnd - offset;
            return BlockStatus.ZERO | BlockStatus.OFFSET_VALID;
        }
        int f = fd();
        if (f < 0) {
            if (offset >= realSize) {
                r.pnum = bytes;
                return BlockStatus.ZERO | BlockStatus.OFFSET_VALID;
            }
            r.pnum = realSize - offset;
            return BlockStatus.DATA | BlockStatus.OFFSET_VALID;
        }
        long data = NativeFiles.seekData(f, offset);
        if (data == -NativeFiles.ENXIO) {
            r.pnum = bytes; // trailing hole
            return BlockStatus.ZERO | BlockStatus.OFFSET_VALID;
        }
        if (data < 0 || data < offset) {
            r.pnum = bytes; // no information: QEMU pretends there are no holes
            return BlockStatus.DATA | BlockStatus.OFFSET_VALID;
        }
        if (data > offset) {
            holeStart = offset;
            holeEnd = data;
            r.pnum = data - offset;
            return BlockStatus.ZERO | BlockStatus.OFFSET_VALID;
        }
        long hole = NativeFiles.seekHole(f, offset);
        if (hole <= offset) {
            r.pnum = bytes; // an error, or data and hole at once: QEMU treats both as "no information"
            return BlockStatus.DATA | BlockStatus.OFFSET_VALID;
        }
        dataStart = offset;
        dataEnd = hole;
        r.pnum = hole - offset;
        return BlockStatus.DATA | BlockStatus.OFFSET_VALID;
    }

    @Override
    public void close() throws IOException {
        if (fd >= 0) {
            NativeFiles.close(fd);
            fd = -1;
        }
        file.close();
    }
}
