package dev.q2;

/**
 * One run of the allocation map of a backing chain ({@link Qcow2#map}), as qemu-img map {@code --output=json}
 * reports it. Immutable and thread-safe.
 *
 * @param start the guest offset where the run starts
 * @param length its length in bytes
 * @param depth how far down the chain the data comes from: 0 the top image, 1 its backing file, ...
 * @param present whether some image of the chain allocates the run (false: reads as zeros, from no image)
 * @param zero whether the run reads as zeros
 * @param data whether the run holds data (not only zeros from a zero flag)
 * @param offset the host offset of the data in {@code filename}, or -1 when there is none (zero, compressed or
 *     unallocated runs)
 * @param filename the file the offset is in, or null when there is no offset
 */
public record Extent(long start, long length, int depth, boolean present, boolean zero, boolean data, long offset,
                     String filename) {
    /**
     * Whether the run has a host offset.
     *
     * @return true when {@link #offset()} is one
     */
    public boolean hasOffset() {
        return offset >= 0;
    }
}
