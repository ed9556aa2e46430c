package dev.q2;

import java.util.Locale;

/** The image formats q2's library opens and names (a backing file's format, for example). */
public enum ImageFormat {
    /** QEMU's copy-on-write format, version 2 or 3. */
    QCOW2,
    /** A plain disk image: guest byte n is file byte n. */
    RAW;

    /**
     * The name qemu-img uses for the format ({@code "qcow2"}, {@code "raw"}).
     *
     * @return the driver name
     */
    public String driverName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
