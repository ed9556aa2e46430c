package dev.q2.format;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The bitmap directory: QEMU's encoding, and the checks (with QEMU's messages) QEMU makes before it uses one. */
class BitmapDirectoryTest {
    private static final long CS = 65536;
    private static final long DISK = 64L << 20;

    private static BitmapDirectoryEntry entry(String name, int flags, int granularityBits) {
        return new BitmapDirectoryEntry(0x50000, 1, flags, 1, granularityBits, name, 0);
    }

    @Test
    void encodesEntriesPaddedToEightBytesAndDecodesThem() throws FormatException {
        List<BitmapDirectoryEntry> entries = List.of(entry("b1", 2, 16), entry("a-longer-name", 0, 9));
        byte[] dir = BitmapDirectory.encode(entries);
        assertThat(dir).hasSize(32 + 40);
        assertThat(ByteBuffer.wrap(dir).getLong(0)).isEqualTo(0x50000);
        assertThat(dir[16]).isEqualTo((byte) 1); // type
        assertThat(dir[17]).isEqualTo((byte) 16); // granularity_bits
        assertThat(dir[30]).isZero(); // padding after "b1"
        assertThat(BitmapDirectory.decode(dir, 2, CS, DISK)).isEqualTo(entries);
        assertThat(BitmapDirectory.rawNames(dir)).extracting(n -> new String(n, StandardCharsets.US_ASCII))
                .containsExactly("b1", "a-longer-name");
    }

    @Test
    void namesAreStoredAsGiven() {
        byte[] raw = {'a', (byte) 0xff};
        byte[] dir = BitmapDirectory.encode(List.of(entry("ignored", 2, 16)), List.of(raw));
        assertThat(dir).hasSize(32);
        assertThat(BitmapDirectory.rawNames(dir).get(0)).isEqualTo(raw);
    }

    @Test
    void countsMustMatchTheHeaderExtension() {
        byte[] dir = BitmapDirectory.encode(List.of(entry("b1", 2, 16), entry("b2", 2, 16)));
        assertThatThrownBy(() -> BitmapDirectory.decode(dir, 1, CS, DISK))
                .hasMessage("More bitmaps found than specified in header extension");
        assertThatThrownBy(() -> BitmapDirectory.decode(dir, 3, CS, DISK))
                .hasMessage("Less bitmaps found than specified in header extension");
        byte[] cut = java.util.Arrays.copyOf(dir, dir.length - 8);
        assertThatThrownBy(() -> BitmapDirectory.decode(cut, 2, CS, DISK)).hasMessage("Broken bitmap directory");
    }

    @Test
    void extraDataIsNotSupported() {
        byte[] dir = BitmapDirectory.encode(List.of(entry("b1", 2, 16)));
        byte[] withExtra = new byte[dir.length + 8];
        System.arraycopy(dir, 0, withExtra, 0, 24);
        ByteBuffer.wrap(withExtra).putInt(20, 8);
        System.arraycopy(dir, 24, withExtra, 32, 2);
        assertThatThrownBy(() -> BitmapDirectory.decode(withExtra, 1, CS, DISK))
                .hasMessage("Bitmap extra data is not supported");
    }

    @Test
    void constraintsAreQemus() {
        assertThat(entry("b", 2, 9).satisfiesConstraints(CS, DISK)).isTrue();
        assertThat(entry("b", 2, 8).satisfiesConstraints(CS, DISK)).as("granularity below 512").isFalse();
        assertThat(entry("b", 2, 32).satisfiesConstraints(CS, DISK)).as("granularity above 2^31").isFalse();
        assertThat(entry("b", 4, 16).satisfiesConstraints(CS, DISK)).as("reserved flag").isFalse();
        assertThat(new BitmapDirectoryEntry(0x50000, 1, 2, 2, 16, "b", 0).satisfiesConstraints(CS, DISK))
                .as("type").isFalse();
        assertThat(new BitmapDirectoryEntry(0x50100, 1, 2, 1, 16, "b", 0).satisfiesConstraints(CS, DISK))
                .as("unaligned table").isFalse();
        assertThat(new BitmapDirectoryEntry(0x50000, 0, 2, 1, 16, "b", 0).satisfiesConstraints(CS, DISK))
                .as("empty table").isFalse();
        // one 64 KiB cluster of bits at 512-byte granularity covers 256 MiB: not a 1 GiB disk, unless in use
        assertThat(entry("b", 2, 9).satisfiesConstraints(CS, 1L << 30)).isFalse();
        assertThat(entry("b", 3, 9).satisfiesConstraints(CS, 1L << 30)).isTrue();
        byte[] dir = BitmapDirectory.encode(List.of(entry("small", 2, 8)));
        assertThatThrownBy(() -> BitmapDirectory.decode(dir, 1, CS, DISK))
                .hasMessage("Bitmap 'small' doesn't satisfy the constraints");
    }

    @Test
    void tableSizeCountsWholeWordsOfBits() {
        // 64 MiB at 64 KiB granularity: 1024 bits, one cluster; at 512 B: 131072 bits = 16 KiB, one 64 KiB cluster
        assertThat(BitmapDirectoryEntry.tableEntriesFor(DISK, 16, CS)).isEqualTo(1);
        assertThat(BitmapDirectoryEntry.tableEntriesFor(9L << 20, 9, 512)).isEqualTo(5);
        assertThat(BitmapDirectoryEntry.tableEntriesFor(1, 9, 512)).isEqualTo(1);
        assertThat(BitmapDirectory.validTableEntry(0x50000, CS)).isTrue();
        assertThat(BitmapDirectory.validTableEntry(1, CS)).as("all ones without offset").isTrue();
        assertThat(BitmapDirectory.validTableEntry(0x50001, CS)).as("all ones with offset").isFalse();
        assertThat(BitmapDirectory.validTableEntry(0x50200, CS)).as("unaligned").isFalse();
        assertThat(BitmapDirectory.validTableEntry(0x2, CS)).as("reserved bit").isFalse();
    }
}
