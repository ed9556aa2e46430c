package dev.q2.probe;

import dev.q2.image.ImageException;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * VMDK: a sparse extent with a binary header ("KDMV", VMDK4; "COWD", VMware 3), which may embed a text
 * descriptor, or a text descriptor file that names its extents. Only this file is read: extents and the parent
 * (parentFileNameHint) are reported by name, never opened.
 */
final class VmdkHeader {
    private static final int VMDK4_MAGIC = 'K' << 24 | 'D' << 16 | 'M' << 8 | 'V';
    private static final int VMDK3_MAGIC = 'C' << 24 | 'O' << 16 | 'W' << 8 | 'D';
    /** What QEMU reads of an embedded descriptor (DESC_SIZE, 20 sectors). */
    private static final int DESC_SIZE = 20 * 512;
    /** What QEMU reads of a descriptor file (vmdk_read_desc: less than 1 MiB). */
    private static final int DESC_FILE_MAX = (1 << 20) - 1;
    /**
     * The descriptor's regexes, compiled only when a VMDK descriptor is read: every image open probes this class,
     * and compiling them there cost each q2 command its start-up share of java.util.regex (docs/performance.md).
     */
    private static final class Patterns {
        /** An extent line: access, size in sectors, type, "file name" (vmdk_parse_extents' sscanf). */
        static final Pattern EXTENT = Pattern.compile(
                "^(RW|RDONLY|NOACCESS)\\s+(\\d+)\\s+(\\S+)(?:\\s+\"([^\"\\r\\n]*)\")?");
        static final Pattern CREATE_TYPE = Pattern.compile("createType\\s*=\\s*\"([^\"]*)\"");
    }

    private static final java.util.Set<String> CREATE_TYPES = java.util.Set.of("monolithicFlat", "vmfs",
            "vmfsSparse", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat", "monolithicSparse", "streamOptimized",
            "seSparse");

    private VmdkHeader() {
    }

    /**
     * vmdk_probe: a binary magic, or a text descriptor: after comment lines ('#') and blank lines (spaces only),
     * the first line is "version=1", "version=2" or "version=3" ended by "\n" or "\r\n".
     */
    static int probe(ByteBuffer buf) {
        if (buf.limit() < 4) {
            return 0;
        }
        int magic = buf.duplicate().order(ByteOrder.BIG_ENDIAN).getInt(0);
        if (magic == VMDK3_MAGIC || magic == VMDK4_MAGIC) {
            return 100;
        }
        int p = 0;
        int end = buf.limit();
        while (p < end) {
            byte c = buf.get(p);
            if (c == '#') {
                while (p < end && buf.get(p) != '\n') {
                    p++;
                }
                p++;
                continue;
            }
            if (c == ' ') {
                while (p < end && buf.get(p) == ' ') {
                    p++;
                }
                if (p < end && buf.get(p) == '\r') {
                    p++;
                }
                if (p == end || buf.get(p) != '\n') {
                    return 0; // only blank lines may come before the version line
                }
                p++;
                continue;
            }
            for (String v : new String[] {"version=1\n", "version=2\n", "version=3\n",
                "version=1\r\n", "version=2\r\n", "version=3\r\n"}) {
                if (Bytes.startsWith(buf, p, v)) {
                    return 100;
                }
            }
            return 0;
        }
        return 0;
    }

    static ForeignHeader read(ImageFile f) throws IOException {
        ByteBuffer h = Bytes.read(f, 0, 512, ByteOrder.LITTLE_ENDIAN);
        int magic = Integer.reverseBytes(h.getInt(0));
        if (magic == VMDK3_MAGIC) {
            // VMDK3Header after the magic: version, flags, disk_sectors (u32 at 12), granularity, ...
            return ForeignHeader.of("vmdk", Integer.toUnsignedLong(h.getInt(12)) * 512, null);
        }
        if (magic == VMDK4_MAGIC) {
            // VMDK4Header after the magic: version u32, flags u32, capacity u64 (12), granularity u64 (20),
            // desc_offset u64 (28), desc_size u64 (36), ...
            long capacity = h.getLong(12);
            long granularity = h.getLong(20);
            long descOffset = h.getLong(28);
            if (capacity < 0 || capacity > Long.MAX_VALUE / 512) {
                throw new ImageException("Invalid capacity in VMDK header");
            }
            String parent = null;
            if (descOffset > 0 && descOffset < Long.MAX_VALUE / 512) {
                String desc = text(Bytes.read(f, descOffset * 512, DESC_SIZE, ByteOrder.LITTLE_ENDIAN));
                parent = parentHint(desc);
            }
            Long cluster = granularity > 0 && granularity <= 0x200000 ? granularity * 512 : null;
            return new ForeignHeader("vmdk", capacity * 512, cluster, parent, parent == null ? null : "vmdk",
                    List.of());
        }
        long size = Math.min(f.size(), DESC_FILE_MAX);
        String desc = text(Bytes.read(f, 0, (int) size, ByteOrder.LITTLE_ENDIAN));
        // vmdk_open_desc_file: a createType, and one QEMU knows
        Matcher ct = Patterns.CREATE_TYPE.matcher(desc);
        if (!ct.find()) {
            throw new ImageException("invalid VMDK image descriptor");
        }
        if (!CREATE_TYPES.contains(ct.group(1))) {
            throw new ImageException("Unsupported image type '" + ct.group(1) + "'");
        }
        long sectors = 0;
        List<String> extents = new ArrayList<>();
        for (String line : desc.split("\n")) {
            Matcher m = Patterns.EXTENT.matcher(line);
            if (!m.find()) {
                continue;
            }
            long n;
            try {
                n = Long.parseLong(m.group(2));
            } catch (NumberFormatException e) {
                throw new ImageException("Invalid extent line: " + line);
            }
            if (n <= 0 || sectors + n > Long.MAX_VALUE / 512) {
                throw new ImageException("Invalid extent line: " + line);
            }
            sectors += n;
            if (m.group(4) != null) {
                extents.add(m.group(4));
            }
        }
        if (extents.isEmpty() && sectors == 0) {
            throw new ImageException("Invalid VMDK image descriptor"); // q2's wording: a descriptor with no extent
        }
        String parent = parentHint(desc);
        return new ForeignHeader("vmdk", sectors * 512, null, parent, parent == null ? null : "vmdk", extents);
    }

    private static String text(ByteBuffer b) {
        int n = 0;
        while (n < b.limit() && b.get(n) != 0) {
            n++;
        }
        byte[] s = new byte[n];
        b.get(0, s);
        return new String(s, StandardCharsets.ISO_8859_1);
    }

    /** vmdk_parent_open: the text after 'parentFileNameHint="' up to the next quote. */
    private static String parentHint(String desc) throws IOException {
        int i = desc.indexOf("parentFileNameHint");
        if (i < 0) {
            return null;
        }
        int start = i + "parentFileNameHint".length() + 2; // past '="'
        int end = desc.indexOf('"', start);
        if (start > desc.length() || end < 0) {
            throw new ImageException("Invalid parentFileNameHint in VMDK descriptor");
        }
        return desc.substring(start, end);
    }
}
