package dev.q2.probe;

import dev.q2.image.ImageException;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Set;

/**
 * Format probing as qemu-img 7.2 does it (block.c, find_image_format and bdrv_probe_all): an empty file is raw;
 * otherwise every driver scores the first 2048 bytes (zero-filled past the end of the file) and the file name, and
 * the highest score wins, raw scoring 1. Then, for the formats q2 does not process, the header facts qemu-img's
 * info shows first, read from this file only.
 */
public final class FormatProber {
    /** BLOCK_PROBE_BUF_SIZE. */
    static final int PROBE_BUF_SIZE = 2048;

    /** The formats q2 can name by probing but not read, copy or check. */
    public static final Set<String> FOREIGN =
            Set.of("vmdk", "vdi", "vhdx", "vpc", "qed", "qcow", "luks", "parallels", "dmg", "cloop", "bochs");

    private FormatProber() {
    }

    /** The format qemu-img would pick for this file: "qcow2", "raw", or one of {@link #FOREIGN}. */
    public static String probe(ImageFile f) throws IOException {
        if (f.size() == 0) {
            return "raw";
        }
        ByteBuffer buf = Bytes.read(f, 0, PROBE_BUF_SIZE, ByteOrder.BIG_ENDIAN);
        return probe(buf, f.path().getFileName() == null ? "" : f.path().toString());
    }

    /** The winner among the probe scores for a probe buffer and file name; on a tie the first one scored wins. */
    static String probe(ByteBuffer buf, String filename) {
        String best = "raw";
        int max = 1;
        String[] names = {"bochs", "cloop", "dmg", "luks", "parallels", "qcow", "qcow2", "qed", "vdi", "vhdx",
            "vmdk", "vpc"};
        int[] scores = {OtherProbes.bochs(buf), OtherProbes.cloop(buf), OtherProbes.dmg(filename),
            LuksProbe.probe(buf), ParallelsHeader.probe(buf), Qcow1Header.probe(buf), qcow2(buf), QedHeader.probe(buf),
            VdiHeader.probe(buf), VhdxHeader.probe(buf), VmdkHeader.probe(buf), VpcFooter.probe(buf)};
        for (int i = 0; i < names.length; i++) {
            if (scores[i] > max) {
                max = scores[i];
                best = names[i];
            }
        }
        return best;
    }

    /**
     * Every format whose probe recognises this file's first 2048 bytes, with its score, in the order qemu-img
     * scores them (the file name is not scored: dmg's name rule says nothing about the bytes). For an upload gate:
     * a file that more than one driver would take, depending on what it is declared as.
     */
    public static java.util.Map<String, Integer> signatures(ImageFile f) throws IOException {
        java.util.Map<String, Integer> out = new java.util.LinkedHashMap<>();
        if (f.size() == 0) {
            return out;
        }
        ByteBuffer buf = Bytes.read(f, 0, PROBE_BUF_SIZE, ByteOrder.BIG_ENDIAN);
        String[] names = {"bochs", "cloop", "luks", "parallels", "qcow", "qcow2", "qed", "vdi", "vhdx", "vmdk",
            "vpc"};
        int[] scores = {OtherProbes.bochs(buf), OtherProbes.cloop(buf), LuksProbe.probe(buf),
            ParallelsHeader.probe(buf), Qcow1Header.probe(buf), qcow2(buf), QedHeader.probe(buf), VdiHeader.probe(buf),
            VhdxHeader.probe(buf), VmdkHeader.probe(buf), VpcFooter.probe(buf)};
        for (int i = 0; i < names.length; i++) {
            if (scores[i] > 0) {
                out.put(names[i], scores[i]);
            }
        }
        return out;
    }

    /**
     * Whether the file's last 512 bytes are a VHD footer ("conectix"): what {@code -f vpc} reads a fixed VHD from,
     * though the probe, which looks at offset 0 only, takes such a file for raw.
     */
    public static boolean hasVpcFooterAtEnd(ImageFile f) throws IOException {
        long size = f.size();
        if (size < 512) {
            return false;
        }
        return Bytes.startsWith(Bytes.read(f, size - 512, 512, ByteOrder.BIG_ENDIAN), 0, "conectix");
    }

    /** qcow2_probe: the magic and a version of at least 2, compared unsigned (0 and 1 are not qcow2). */
    private static int qcow2(ByteBuffer buf) {
        ByteBuffer b = buf.duplicate().order(ByteOrder.BIG_ENDIAN);
        return b.getInt(0) == Qcow1Header.MAGIC && Integer.compareUnsigned(b.getInt(4), 2) >= 0 ? 100 : 0;
    }

    /**
     * The header facts of an image in one of the {@link #FOREIGN} formats, read from this file alone.
     *
     * @throws ImageException for a format whose header q2 does not parse, or a header that cannot be right
     */
    public static ForeignHeader readHeader(ImageFile f, String format) throws IOException {
        ByteBuffer head = Bytes.read(f, 0, PROBE_BUF_SIZE, ByteOrder.BIG_ENDIAN);
        // with -f, the driver's open checks its own magic (qemu-img's messages)
        String notIt = switch (format) {
            case "vdi" -> VdiHeader.probe(head) == 0 ? String.format("Image not in VDI format (bad signature %08x)",
                    Integer.reverseBytes(head.getInt(0x40))) : null;
            case "vhdx" -> VhdxHeader.probe(head) == 0 ? "Could not open '" + f.path().getFileName()
                    + "': Invalid argument" : null;
            case "qed" -> QedHeader.probe(head) == 0 ? "Image not in QED format" : null;
            case "qcow" -> Qcow1Header.probe(head) == 0 ? "Image not in qcow format" : null;
            case "luks" -> LuksProbe.probe(head) == 0 ? "Volume is not in LUKS format" : null;
            case "parallels" -> ParallelsHeader.probe(head) == 0 ? "Image not in Parallels format" : null;
            default -> null;
        };
        if (notIt != null) {
            throw new ImageException(notIt);
        }
        switch (format) {
            case "vmdk":
                return VmdkHeader.read(f);
            case "vdi":
                return VdiHeader.read(f);
            case "vhdx":
                return VhdxHeader.read(f);
            case "vpc":
                return VpcFooter.read(f);
            case "qed":
                return QedHeader.read(f);
            case "qcow":
                return Qcow1Header.read(f);
            case "luks":
                return LuksProbe.read(f);
            case "parallels":
                return ParallelsHeader.read(f);
            default:
                throw new ImageException(cannotRead(format));
        }
    }

    /** The refusal of a command that cannot process the format. */
    public static String cannotRead(String format) {
        return "q2 cannot read " + format + " images yet";
    }
}
