package dev.q2.probe;

import java.util.List;

/**
 * What q2 reads from the header of an image in a format it cannot process (yet): the facts qemu-img's info shows
 * first. Read from the image file alone; nothing it names is opened.
 *
 * @param format the QEMU driver name ("vmdk", "vdi", "vhdx", "vpc", "qed", "qcow", "luks", "parallels")
 * @param virtualSize the guest-visible size in bytes
 * @param clusterSize the format's allocation unit where qemu-img reports one, or null
 * @param backingFile the backing file name as stored, or null
 * @param backingFormat the backing format the image fixes, or null (QEMU then probes)
 * @param extentFiles files a VMDK descriptor names as extents (empty for other formats)
 */
public record ForeignHeader(String format, long virtualSize, Long clusterSize, String backingFile,
                            String backingFormat, List<String> extentFiles) {
    public ForeignHeader {
        extentFiles = List.copyOf(extentFiles);
    }

    static ForeignHeader of(String format, long virtualSize, Long clusterSize) {
        return new ForeignHeader(format, virtualSize, clusterSize, null, null, List.of());
    }
}
