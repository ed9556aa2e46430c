package dev.q2.image;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A qcow2 image open in the engine as a copy's target (convert, commit): data through {@link Qcow2Disk#write}, zeros
 * that may be unmapped (QEMU's BDRV_REQ_MAY_UNMAP). A class rather than two lambdas: on JDK 17 a lambda's first
 * use loads ~75 java.lang.invoke classes, a visible share of a small convert's start-up.
 */
public final class EngineTarget implements GuestWriter, GuestWriter.Zeroes {
    private final Qcow2Disk disk;

    /**
     * @param disk the open target image
     */
    public EngineTarget(Qcow2Disk disk) {
        this.disk = disk;
    }

    @Override
    public void write(long offset, ByteBuffer data) throws IOException {
        disk.write(offset, data);
    }

    @Override
    public void writeZeroes(long offset, long length) throws IOException {
        disk.writeZeroes(offset, length, true);
    }
}
