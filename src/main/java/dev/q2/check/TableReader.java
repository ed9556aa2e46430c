package dev.q2.check;

import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Reads the cluster-sized metadata tables (L2 tables) the check walks, one at a time into one reused buffer,
 * through {@link MappedTables}. Tables past the end of the file read as zeros, as QEMU reads them.
 */
final class TableReader implements AutoCloseable {
    private final MappedTables mapped;
    private final int tableSize;

    TableReader(ImageFile file, int tableSize) throws IOException {
        this.mapped = new MappedTables(file);
        this.tableSize = tableSize;
    }

    MappedTables mapped() {
        return mapped;
    }

    /** A walk over {@code n} tables at the given offsets. */
    Batch open(long[] offsets, int n) {
        return new Batch(offsets);
    }

    final class Batch {
        private final long[] offsets;
        private final ByteBuffer buffer = ByteBuffer.allocate(tableSize).order(ByteOrder.BIG_ENDIAN);

        private Batch(long[] offsets) {
            this.offsets = offsets;
        }

        /** Table number {@code k}, valid until the next call. */
        ByteBuffer get(int k) throws IOException {
            mapped.read(offsets[k], buffer);
            return buffer;
        }
    }

    @Override
    public void close() {
    }
}
