package dev.q2.image;

import dev.q2.format.CryptoHeaderPointer;
import dev.q2.format.HeaderExtension;
import dev.q2.format.QcowHeader;
import dev.q2.io.ImageFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Seam: qcow2.c's qcow2_set_up_encryption for a new image, after its size and preallocation are set up: LUKS gets
 * its header area (header and key material, the LUKS payload offset long) in clusters allocated as any others,
 * zero-filled to the cluster boundary then written (qcow2_crypto_hdr_init_func/_write_func), and the full disk
 * encryption header extension pointing at it; both methods set crypt_method in the header.
 */
public final class EncryptionSetup {
    private EncryptionSetup() {
    }

    /**
     * Makes a freshly created, unencrypted image encrypted.
     *
     * @param path the image
     * @param method {@link QcowHeader#CRYPT_AES} or {@link QcowHeader#CRYPT_LUKS}
     * @param luksArea for LUKS the header area (its length is the payload offset), null for AES
     * @throws IOException when the image cannot be written
     */
    public static void setUp(Path path, int method, byte[] luksArea) throws IOException {
        long offset = 0;
        if (luksArea != null) {
            try (Qcow2Disk disk = Qcow2Disk.open(path, DiskOptions.readWrite().withoutBacking())) {
                offset = disk.allocateHeaderArea(luksArea);
                disk.flush();
            }
        }
        try (ImageFile f = ImageFile.openReadWrite(path)) {
            Qcow2Metadata img = Qcow2Metadata.loadMetadata(f);
            QcowHeader h = img.header();
            QcowHeader enc = new QcowHeader(h.version(), h.backingFileOffset(), h.backingFileSize(),
                    h.clusterBits(), h.size(), method, h.l1Size(), h.l1TableOffset(), h.refcountTableOffset(),
                    h.refcountTableClusters(), h.nbSnapshots(), h.snapshotsOffset(), h.incompatibleFeatures(),
                    h.compatibleFeatures(), h.autoclearFeatures(), h.refcountOrder(), h.headerLength(),
                    h.compressionType());
            List<HeaderExtension> exts = new ArrayList<>(img.extensions());
            if (luksArea != null) {
                ByteBuffer ptr = ByteBuffer.allocate(16).order(ByteOrder.BIG_ENDIAN);
                ptr.putLong(offset).putLong(luksArea.length);
                exts.add(new HeaderExtension(HeaderExtension.FULL_DISK_ENCRYPTION, ptr.array()));
                CryptoHeaderPointer.decode(ptr.array()); // the layout Encryption reads back
            }
            byte[] backing = null;
            if (h.backingFileOffset() != 0) {
                ByteBuffer name = ByteBuffer.allocate(h.backingFileSize());
                f.readFully(h.backingFileOffset(), name);
                backing = name.array();
            }
            HeaderWriter.write(f, enc, exts, backing);
            f.channel().force(true);
        } catch (dev.q2.format.FormatException e) {
            throw new ImageException(e.getMessage(), e);
        }
    }
}
