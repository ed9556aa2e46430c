package dev.q2.map;

import java.io.IOException;

/** Receives the extents of a map in order, each with the one after it (null for the last), as qemu-img prints them. */
public interface MapSink {
    /** Called once before the first extent. */
    void begin() throws IOException;

    /** One extent; {@code next} may be changed (qemu-img's human output does). */
    void entry(MapEntry entry, MapEntry next) throws IOException;

    /** Called once after the last extent. */
    void end() throws IOException;
}
