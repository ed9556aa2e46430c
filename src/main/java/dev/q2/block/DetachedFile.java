package dev.q2.block;

/**
 * An external data file that was not opened ({@link References#NONE}): it stands in the graph under the name the
 * image stores, so block status still says where data lives, and answers every query with "data, at this offset"
 * (QEMU's answer for a file it knows nothing about) without touching the file.
 */
final class DetachedFile extends Node {
    /** The block layer's largest length (BDRV_MAX_LENGTH, whole sectors): the file's real length is unknown. */
    private static final long LENGTH = Long.MAX_VALUE - (1L << 30) + 1 & ~511L;

    DetachedFile(String storedName) {
        super(storedName);
    }

    @Override
    long length() {
        return LENGTH;
    }

    @Override
    public void close() {
        // nothing was opened
    }

    @Override
    int driverStatus(long offset, long bytes, BlockStatus.Result r) {
        return r.identity(this, offset, bytes, BlockStatus.DATA | BlockStatus.OFFSET_VALID);
    }
}
