package dev.q2.format;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** The feature name table extension: 48-byte entries of type, bit number and a NUL-padded 46-byte name. */
public record FeatureNameTable(List<Entry> entries) {
    public static final int ENTRY_SIZE = 48;

    public record Entry(int type, int bit, String name) {
    }

    public FeatureNameTable {
        entries = List.copyOf(entries);
    }

    /** The table QEMU 7.2 writes into every v3 image it creates, in its order. */
    public static FeatureNameTable qemuDefault() {
        return new FeatureNameTable(List.of(
                new Entry(Features.TYPE_INCOMPATIBLE, 0, "dirty bit"),
                new Entry(Features.TYPE_INCOMPATIBLE, 1, "corrupt bit"),
                new Entry(Features.TYPE_INCOMPATIBLE, 2, "external data file"),
                new Entry(Features.TYPE_INCOMPATIBLE, 3, "compression type"),
                new Entry(Features.TYPE_INCOMPATIBLE, 4, "extended L2 entries"),
                new Entry(Features.TYPE_COMPATIBLE, 0, "lazy refcounts"),
                new Entry(Features.TYPE_AUTOCLEAR, 0, "bitmaps"),
                new Entry(Features.TYPE_AUTOCLEAR, 1, "raw external data")));
    }

    /**
     * Reads the table as QEMU does to name unknown features (qcow2_read_extensions, report_unsupported_feature): the
     * extension's bytes padded with zeros to whole entries, so a short last entry (or a table shorter than one
     * entry) still names its bit from the bytes it has; the table ends at the first entry with an empty name.
     */
    public static FeatureNameTable decode(byte[] data) {
        int entries = (data.length + ENTRY_SIZE - 1) / ENTRY_SIZE;
        ByteBuffer b = ByteBuffer.wrap(java.util.Arrays.copyOf(data, entries * ENTRY_SIZE)).order(ByteOrder.BIG_ENDIAN);
        List<Entry> out = new ArrayList<>();
        while (b.remaining() >= ENTRY_SIZE) {
            int type = b.get() & 0xff;
            int bit = b.get() & 0xff;
            byte[] name = new byte[46];
            b.get(name);
            if (name[0] == 0) {
                break;
            }
            int len = 0;
            while (len < name.length && name[len] != 0) {
                len++;
            }
            out.add(new Entry(type, bit, new String(name, 0, len, StandardCharsets.UTF_8)));
        }
        return new FeatureNameTable(out);
    }

    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(entries.size() * ENTRY_SIZE);
        for (Entry e : entries) {
            b.put((byte) e.type).put((byte) e.bit);
            byte[] name = e.name.getBytes(StandardCharsets.UTF_8);
            b.put(name, 0, Math.min(46, name.length));
            b.position(b.position() + Math.max(0, 46 - name.length));
        }
        return b.array();
    }

    /** The name the table gives a feature bit, or null. */
    public String nameOf(int type, int bit) {
        for (Entry e : entries) {
            if (e.type == type && e.bit == bit) {
                return e.name;
            }
        }
        return null;
    }
}
