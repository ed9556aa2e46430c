package dev.q2.info;

import dev.q2.cache.L2CacheSizing;
import dev.q2.util.QDict;

/**
 * What q2 info reports about one image: QEMU's ImageInfo as a {@link QDict} (so keys print in qemu-img's order),
 * plus the L2 cache sizing for qcow2 images.
 *
 * @param qapi the ImageInfo members exactly as qemu-img reports them
 * @param l2 the L2 cache numbers, null for raw images
 * @param allocatedL2Tables L2 tables the active L1 table points to (qcow2 only)
 */
public record ImageInfo(QDict qapi, L2CacheSizing l2, long allocatedL2Tables) {
    public String filename() {
        return (String) qapi.get("filename");
    }

    public String backingFilename() {
        return (String) qapi.get("backing-filename");
    }

    public String fullBackingFilename() {
        return (String) qapi.get("full-backing-filename");
    }

    public String backingFormat() {
        return (String) qapi.get("backing-filename-format");
    }
}
