package dev.q2.inspect;

import dev.q2.format.FormatException;
import dev.q2.format.LuksAlgorithms;
import dev.q2.format.LuksHeader;
import dev.q2.image.ImageException;
import dev.q2.io.ImageFile;
import dev.q2.probe.ForeignHeader;
import dev.q2.probe.FormatProber;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Set;

/**
 * The rules for the formats q2 names but does not process (vmdk, vdi, vhdx, vpc, qed, qcow, luks, parallels): what
 * their headers reference, their feature and encryption fields and the virtual size. Their block tables are not
 * walked (see docs/security.md).
 */
final class ForeignInspection {
    /** Formats q2 probes but whose headers it does not read. */
    private static final Set<String> NAMED_ONLY = Set.of("dmg", "cloop", "bochs");
    /** QED's known features: backing file, need check, backing format no probe. */
    private static final long QED_FEATURES = 7;
    private static final long QED_F_NEED_CHECK = 2;

    private ForeignInspection() {
    }

    static Long inspect(ImageFile f, String format, Findings out) throws IOException {
        if (NAMED_ONLY.contains(format)) {
            out.add(Rule.UNINSPECTABLE_FORMAT, "q2 cannot read " + format + " headers: nothing in this image could"
                    + " be verified");
            return null;
        }
        ForeignHeader h;
        try {
            h = FormatProber.readHeader(f, format);
        } catch (ImageException | FormatException e) {
            out.add(Rule.INVALID_METADATA, "QEMU refuses to open the image: " + e.getMessage());
            return null;
        }
        if (h.backingFile() != null && !h.backingFile().isEmpty()) {
            out.add(Rule.BACKING_FILE, "backing file " + References.quote(h.backingFile()) + " ("
                    + References.kind(h.backingFile()) + "), " + (h.backingFormat() == null
                    ? "no backing format: QEMU would probe it" : "format " + References.quote(h.backingFormat())));
        }
        for (String extent : h.extentFiles()) {
            out.add(Rule.VMDK_EXTENT, "extent " + References.quote(extent) + " (" + References.kind(extent)
                    + "): the guest data lives in another file");
        }
        switch (format) {
            case "qcow" -> {
                ByteBuffer b = read(f, 48, ByteOrder.BIG_ENDIAN);
                int method = b.getInt(36);
                if (method != 0) {
                    out.add(Rule.ENCRYPTION, "encrypted: " + (method == 1 ? "aes (qcow's AES-CBC)"
                            : "method " + Integer.toUnsignedString(method)));
                }
            }
            case "qed" -> {
                ByteBuffer b = read(f, 64, ByteOrder.LITTLE_ENDIAN);
                long features = b.getLong(16);
                if ((features & ~QED_FEATURES) != 0) {
                    out.add(Rule.UNKNOWN_INCOMPATIBLE_FEATURES, "unknown QED features 0x"
                            + Long.toHexString(features & ~QED_FEATURES) + "; QEMU refuses the image");
                }
                if ((features & QED_F_NEED_CHECK) != 0) {
                    out.add(Rule.DIRTY_BIT, "QED's need-check feature is set: the image was not closed cleanly");
                }
            }
            case "luks" -> {
                String how = "luks";
                try {
                    LuksAlgorithms a = LuksHeader.decode(read(f, LuksHeader.SIZE, ByteOrder.BIG_ENDIAN).array())
                            .algorithms();
                    how += ", cipher " + a.cipherAlg() + "-" + a.cipherMode() + ", ivgen " + a.ivgenAlg() + ", hash "
                            + a.hashAlg();
                } catch (FormatException | ImageException e) {
                    out.add(Rule.INVALID_METADATA, "QEMU refuses the LUKS header: " + e.getMessage());
                }
                out.add(Rule.ENCRYPTION, "encrypted: " + how);
            }
            default -> {
            }
        }
        if (h.virtualSize() < 0 || h.virtualSize() > Qcow2Inspection.BDRV_MAX_LENGTH) {
            out.add(Rule.VIRTUAL_SIZE_LIMIT, "virtual size " + Long.toUnsignedString(h.virtualSize())
                    + " is past QEMU's limit of " + Qcow2Inspection.BDRV_MAX_LENGTH + " bytes");
        }
        return h.virtualSize();
    }

    private static ByteBuffer read(ImageFile f, int length, ByteOrder order) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        f.readZeroFilled(0, b);
        b.clear();
        return b.order(order);
    }
}
