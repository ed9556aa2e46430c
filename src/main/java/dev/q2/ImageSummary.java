package dev.q2;

/**
 * The main facts qemu-img info reports about an image ({@link Qcow2#info}). Immutable and thread-safe.
 *
 * @param format the format ("qcow2", "raw", or a format q2 recognises but does not read)
 * @param virtualSize the guest disk's size in bytes
 * @param actualSize bytes the file occupies on disk, or -1 when unknown
 * @param clusterSize the cluster size, or -1 when the format has none
 * @param backingFile the backing file name as the image records it, or null
 * @param backingFormat the backing file's format as the image records it, or null
 * @param dirty whether the image is marked dirty (qcow2 lazy refcounts in use)
 * @param compat "1.1" or "0.10" for qcow2, null otherwise
 * @param extendedL2 whether a qcow2 image has extended L2 entries
 * @param corrupt whether a qcow2 image is marked corrupt
 */
public record ImageSummary(String format, long virtualSize, long actualSize, long clusterSize, String backingFile,
                           String backingFormat, boolean dirty, String compat, boolean extendedL2, boolean corrupt) {
}
