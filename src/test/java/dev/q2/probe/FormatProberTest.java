package dev.q2.probe;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** The probe rules of qemu-img 7.2 on hand-made probe buffers (2048 bytes, zero-filled as QEMU's). */
class FormatProberTest {
    private static ByteBuffer buf(byte[] head) {
        ByteBuffer b = ByteBuffer.allocate(FormatProber.PROBE_BUF_SIZE);
        b.put(0, head, 0, Math.min(head.length, b.limit()));
        return b;
    }

    private static String probe(String text, String name) {
        return FormatProber.probe(buf(text.getBytes(StandardCharsets.ISO_8859_1)), name);
    }

    @Test
    void vmdkDescriptorNeedsTheVersionLineFirstAfterCommentsAndBlankLines() {
        assertThat(probe("# Disk DescriptorFile\nversion=1\n", "a")).isEqualTo("vmdk");
        assertThat(probe("#c\n   \r\n \nversion=3\r\n", "a")).isEqualTo("vmdk");
        assertThat(probe("version=4\n", "a")).isEqualTo("raw");
        assertThat(probe("version=1", "a")).isEqualTo("raw"); // no line end: the zero padding follows
        assertThat(probe("\nversion=1\n", "a")).isEqualTo("raw"); // an empty line is not a blank line here
        assertThat(probe(" x\nversion=1\n", "a")).isEqualTo("raw");
        assertThat(probe("CID=1\nversion=1\n", "a")).isEqualTo("raw");
        assertThat(probe("KDMV", "a")).isEqualTo("vmdk");
        assertThat(probe("COWD", "a")).isEqualTo("vmdk");
    }

    @Test
    void qcowVersionsSplitBetweenQcowQcow2AndRaw() {
        byte[] h = {'Q', 'F', 'I', (byte) 0xfb, 0, 0, 0, 0};
        assertThat(FormatProber.probe(buf(h), "a")).isEqualTo("raw");
        h[7] = 1;
        assertThat(FormatProber.probe(buf(h), "a")).isEqualTo("qcow");
        h[7] = 2;
        assertThat(FormatProber.probe(buf(h), "a")).isEqualTo("qcow2");
        h[4] = (byte) 0x80; // unsigned: a huge version is still qcow2
        assertThat(FormatProber.probe(buf(h), "a")).isEqualTo("qcow2");
    }

    @Test
    void magicsOfTheOtherFormats() {
        assertThat(probe("conectix", "a")).isEqualTo("vpc");
        assertThat(probe("vhdxfile", "a")).isEqualTo("vhdx");
        assertThat(probe("QED\0", "a")).isEqualTo("qed");
        assertThat(probe("LUKS\u00ba\u00be\0\1", "a")).isEqualTo("luks");
        assertThat(probe("LUKS\u00ba\u00be\0\2", "a")).isEqualTo("raw"); // LUKS2: not QEMU 7.2's luks driver
        assertThat(probe("WithouFreSpacExt\2\0\0\0", "a")).isEqualTo("parallels");
        assertThat(probe("WithoutFreeSpace\2\0\0\0", "a")).isEqualTo("parallels");
        assertThat(probe("WithoutFreeSpace\3\0\0\0", "a")).isEqualTo("raw");
        byte[] vdi = new byte[0x44];
        vdi[0x40] = 0x7f;
        vdi[0x41] = 0x10;
        vdi[0x42] = (byte) 0xda;
        vdi[0x43] = (byte) 0xbe;
        assertThat(FormatProber.probe(buf(vdi), "a")).isEqualTo("vdi");
    }

    @Test
    void weakProbesScoreTwoAndLoseToAnyMagic() {
        assertThat(probe("anything", "disk.dmg")).isEqualTo("dmg");
        assertThat(probe("anything", ".dmg")).isEqualTo("raw"); // the name must be longer than the suffix
        assertThat(probe("conectix", "disk.dmg")).isEqualTo("vpc");
        assertThat(probe("#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n",
                "a")).isEqualTo("cloop");
        byte[] bochs = new byte[72];
        put(bochs, 0, "Bochs Virtual HD Image");
        put(bochs, 32, "Redolog");
        put(bochs, 48, "Growing");
        bochs[66] = 2; // version 0x00020000, little-endian
        assertThat(FormatProber.probe(buf(bochs), "a")).isEqualTo("bochs");
        put(bochs, 48, "Undoable");
        assertThat(FormatProber.probe(buf(bochs), "a")).isEqualTo("raw");
    }

    @Test
    void vhdxGuidsAreStoredMixedEndian() {
        assertThat(VhdxHeader.guid("8B7CA206-4790-4B9A-B8FE-575F050F886E")).containsExactly(
                0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b, 0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e);
    }

    private static void put(byte[] b, int off, String s) {
        byte[] v = s.getBytes(StandardCharsets.ISO_8859_1);
        java.util.Arrays.fill(b, off, off + 16, (byte) 0);
        System.arraycopy(v, 0, b, off, v.length);
    }
}
