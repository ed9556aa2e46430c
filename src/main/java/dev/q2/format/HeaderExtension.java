package dev.q2.format;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One header extension (spec: "Header extensions"): a type, and data padded to a multiple of 8 bytes on disk.
 * Unknown types are kept as they are, so that rewriting a header preserves them. Immutable (the data is copied in
 * and out).
 *
 * @param type the extension's type (one of the constants here, or an unknown one)
 * @param data its data, without padding
 */
public record HeaderExtension(int type, byte[] data) {
    /** End of the header extension area. */
    public static final int END = 0x00000000;
    /** Backing file format name. */
    public static final int BACKING_FORMAT = 0xe2792aca;
    /** Feature name table. */
    public static final int FEATURE_NAME_TABLE = 0x6803f857;
    /** Bitmaps extension. */
    public static final int BITMAPS = 0x23852875;
    /** Full disk encryption header pointer. */
    public static final int FULL_DISK_ENCRYPTION = 0x0537be77;
    /** External data file name. */
    public static final int EXTERNAL_DATA_FILE = 0x44415441;

    /** Copies {@code data}. */
    public HeaderExtension {
        data = data.clone();
    }

    /** @return a copy of the data */
    @Override
    public byte[] data() {
        return data.clone();
    }

    /** @return the data as QEMU reads a string extension (backing format, data file name): up to the first NUL */
    public String dataAsString() {
        return CStrings.decode(data);
    }

    /**
     * The first extension of {@code type} in {@code exts}. A loop, not a stream: streams cost a q2 command a few
     * milliseconds of start-up (their EnumMaps make the JVM spin a method-handle class at run time).
     *
     * @param exts the extensions
     * @param type the type looked for
     * @return the first of that type, if any
     */
    public static java.util.Optional<HeaderExtension> first(List<HeaderExtension> exts, int type) {
        for (HeaderExtension e : exts) {
            if (e.type() == type) {
                return java.util.Optional.of(e);
            }
        }
        return java.util.Optional.empty();
    }

    /** Whether QEMU 7.2 knows extensions of this type (the others it keeps unread and writes back). */
    public static boolean isKnown(int type) {
        return type == BACKING_FORMAT || type == FEATURE_NAME_TABLE || type == BITMAPS || type == FULL_DISK_ENCRYPTION
                || type == EXTERNAL_DATA_FILE;
    }

    /**
     * The last extension of a type: QEMU reads the extensions in order and each backing format, data file, feature
     * name table and bitmaps extension replaces the one before (qcow2_read_extensions; iotest 114 appends a second
     * backing format).
     *
     * @param exts the header's extensions, in file order
     * @param type the extension type
     * @return the last extension of that type, if any
     */
    public static java.util.Optional<HeaderExtension> last(List<HeaderExtension> exts, int type) {
        for (int i = exts.size() - 1; i >= 0; i--) {
            if (exts.get(i).type() == type) {
                return java.util.Optional.of(exts.get(i));
            }
        }
        return java.util.Optional.empty();
    }

    /**
     * A string extension (backing format, data file name).
     *
     * @param type its type
     * @param value the string, stored as UTF-8 without a NUL
     * @return the extension
     */
    public static HeaderExtension ofString(int type, String value) {
        return new HeaderExtension(type, value.getBytes(StandardCharsets.UTF_8));
    }

    /** @return bytes on disk: type, length and data padded to 8 */
    public int encodedLength() {
        return 8 + ((data.length + 7) & ~7);
    }

    /**
     * Writes type, length and the data padded to 8 bytes.
     *
     * @param out where to write (big-endian is set on it)
     */
    public void encode(ByteBuffer out) {
        out.order(ByteOrder.BIG_ENDIAN).putInt(type).putInt(data.length).put(data);
        int pad = ((data.length + 7) & ~7) - data.length;
        for (int i = 0; i < pad; i++) {
            out.put((byte) 0);
        }
    }

    /**
     * Decodes the extensions from {@code area}, which holds the bytes from the end of the fixed header up to where
     * the extension area must end (the backing file name or the end of the first cluster), stopping at the end
     * marker.
     *
     * @param area the extension area
     * @return the extensions in order
     * @throws FormatException when the area is malformed (QEMU's message)
     */
    public static List<HeaderExtension> decodeAll(ByteBuffer area) throws FormatException {
        return decodeAll(area, new ArrayList<>());
    }

    /**
     * As {@link #decodeAll(ByteBuffer)}, adding each extension to {@code out} as it is decoded, so that a caller
     * can use the ones before a broken extension (QEMU names unknown features from a feature table it found before
     * an extension it could not read).
     *
     * @param area the extension area
     * @param out receives the extensions in order
     * @return {@code out}
     * @throws FormatException when the area is malformed (QEMU's message)
     */
    public static List<HeaderExtension> decodeAll(ByteBuffer area, List<HeaderExtension> out) throws FormatException {
        ByteBuffer b = area.slice().order(ByteOrder.BIG_ENDIAN);
        while (true) {
            if (b.remaining() < 8) {
                if (b.remaining() == 0) {
                    return out; // QEMU accepts an area that ends without an end marker when it is exactly full
                }
                throw new FormatException("Header extension too large"); // its type and length cross the end
            }
            int type = b.getInt();
            int length = b.getInt();
            // QEMU checks every length against the area, the end marker's too (which may otherwise have any length)
            if (Integer.toUnsignedLong(length) > b.remaining()) {
                throw new FormatException("Header extension too large");
            }
            if (type == END) {
                return out;
            }
            if (type == BITMAPS && length != BitmapsExtension.LENGTH) {
                // checked in the scan, before any later extension and whatever the autoclear bit says
                throw new FormatException("bitmaps_ext: Invalid extension length");
            }
            byte[] data = new byte[length];
            b.get(data);
            int pad = ((length + 7) & ~7) - length;
            b.position(Math.min(b.limit(), b.position() + pad));
            out.add(new HeaderExtension(type, data));
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HeaderExtension other && other.type == type && Arrays.equals(other.data, data);
    }

    @Override
    public int hashCode() {
        return 31 * type + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return String.format("HeaderExtension[type=0x%08x, length=%d]", type, data.length);
    }
}
