package dev.q2.map;

/**
 * One extent of a map, as qemu-img map reports it: a guest range, the depth in the backing chain it comes from, and
 * what it holds. Immutable.
 *
 * @param start the guest offset of the extent
 * @param length its length in bytes
 * @param depth the layer of the backing chain that answers for it (0: the top image)
 * @param present whether some layer of the chain allocates it
 * @param zero whether it reads as zeros
 * @param data whether it holds data
 * @param hasOffset whether {@code offset} and {@code filename} are valid
 * @param offset the host offset in {@code filename}, when {@code hasOffset}
 * @param filename the file the offset is in; null when there is no offset
 */
public record MapEntry(long start, long length, int depth, boolean present, boolean zero, boolean data,
        boolean hasOffset, long offset, String filename) {
}
