package dev.q2.map;

import java.io.IOException;

/** Receives the extents of a map in guest order, each as soon as it is complete. */
@FunctionalInterface
public interface MapSink {
    /**
     * Called once before the first extent.
     *
     * @throws IOException when the sink cannot take output
     */
    default void begin() throws IOException {
    }

    /**
     * One extent.
     *
     * @param entry the extent
     * @param last true for the last extent; false when the status of the range after it is already known (qemu-img
     *     prints JSON's separator then, even if reading the metadata after that fails)
     * @throws IOException when the sink cannot take it (a {@link MapException} stops the map)
     */
    void entry(MapEntry entry, boolean last) throws IOException;

    /**
     * Called once after the last extent.
     *
     * @throws IOException when the sink cannot take output
     */
    default void end() throws IOException {
    }
}
