package dev.q2.block;

import java.io.IOException;

/** The raw format over a file: it passes every status query down to its file (QEMU's BDRV_BLOCK_RAW). */
final class RawNode extends Node {
    private final FileNode file;

    RawNode(FileNode file) {
        super(file.filename());
        this.file = file;
    }

    @Override
    long length() {
        return file.length();
    }

    @Override
    int driverStatus(long offset, long bytes, BlockStatus.Result r) {
        r.pnum = bytes;
        r.map = offset;
        r.file = file;
        return BlockStatus.RAW | BlockStatus.OFFSET_VALID;
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
