package dev.q2.probe;

import dev.q2.image.ImageException;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * VHDX: the file identifier "vhdxfile", a region table at 192 KiB naming the metadata region, whose table names
 * the Virtual Disk Size and File Parameters items. All little-endian; GUIDs in their mixed-endian byte order.
 */
final class VhdxHeader {
    private static final long REGION_TABLE_OFFSET = 192 * 1024;
    private static final int MAX_ENTRIES = 2047; // both tables hold at most 2047 entries in their 64 KiB
    private static final byte[] METADATA_REGION = guid("8B7CA206-4790-4B9A-B8FE-575F050F886E");
    private static final byte[] VIRTUAL_DISK_SIZE = guid("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
    private static final byte[] FILE_PARAMETERS = guid("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
    private static final byte[] PARENT_LOCATOR = guid("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");

    private VhdxHeader() {
    }

    /** vhdx_probe: "vhdxfile" at offset 0. */
    static int probe(ByteBuffer buf) {
        return Bytes.startsWith(buf, 0, "vhdxfile") ? 100 : 0;
    }

    static ForeignHeader read(ImageFile f) throws IOException {
        ByteBuffer rt = Bytes.read(f, REGION_TABLE_OFFSET, 64 * 1024, ByteOrder.LITTLE_ENDIAN);
        if (!Bytes.startsWith(rt, 0, "regi")) {
            throw new ImageException("Could not read region table"); // q2's wording: no VHDX log replay here
        }
        int regions = rt.getInt(8);
        if (regions < 0 || regions > MAX_ENTRIES) {
            throw new ImageException("Region table has too many entries");
        }
        long mdOffset = -1;
        for (int i = 0; i < regions; i++) {
            int e = 16 + i * 32;
            if (guidAt(rt, e, METADATA_REGION)) {
                mdOffset = rt.getLong(e + 16);
            }
        }
        if (mdOffset < 0) {
            throw new ImageException("No metadata region found");
        }
        ByteBuffer md = Bytes.read(f, mdOffset, 64 * 1024, ByteOrder.LITTLE_ENDIAN);
        if (!Bytes.startsWith(md, 0, "metadata")) {
            throw new ImageException("Invalid metadata table signature");
        }
        int entries = md.getShort(10) & 0xffff;
        if (entries > MAX_ENTRIES) {
            throw new ImageException("Metadata table has too many entries");
        }
        Long size = null;
        Long blockSize = null;
        for (int i = 0; i < entries; i++) {
            int e = 32 + i * 32;
            long itemOffset = Integer.toUnsignedLong(md.getInt(e + 16));
            if (guidAt(md, e, VIRTUAL_DISK_SIZE)) {
                size = Bytes.read(f, mdOffset + itemOffset, 8, ByteOrder.LITTLE_ENDIAN).getLong(0);
            } else if (guidAt(md, e, FILE_PARAMETERS)) {
                blockSize = Integer.toUnsignedLong(
                        Bytes.read(f, mdOffset + itemOffset, 4, ByteOrder.LITTLE_ENDIAN).getInt(0));
            } else if (guidAt(md, e, PARENT_LOCATOR)) {
                // a differencing disk (its parent is named in the locator): QEMU 7.2 does not open those either
                throw new ImageException("VHDX differencing files are not supported");
            }
        }
        if (size == null) {
            throw new ImageException("Virtual disk size metadata item missing");
        }
        if (size < 0) {
            throw new ImageException("Virtual disk size is too large");
        }
        return ForeignHeader.of("vhdx", size, blockSize);
    }

    private static boolean guidAt(ByteBuffer b, int offset, byte[] guid) {
        for (int i = 0; i < 16; i++) {
            if (b.get(offset + i) != guid[i]) {
                return false;
            }
        }
        return true;
    }

    /** The on-disk bytes of a GUID: the first three groups little-endian, the rest as written. */
    static byte[] guid(String s) {
        String h = s.replace("-", "");
        byte[] raw = new byte[16];
        for (int i = 0; i < 16; i++) {
            raw[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
        }
        byte[] out = raw.clone();
        int[] order = {3, 2, 1, 0, 5, 4, 7, 6};
        for (int i = 0; i < 8; i++) {
            out[i] = raw[order[i]];
        }
        return out;
    }
}
