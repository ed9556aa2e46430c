package dev.q2.format;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The (sub)cluster types and the corruption rules of L2 entries, in QEMU's words (messages pinned against QEMU in
 * DamagedImageDifferentialTest). */
class L2CorruptionTest {
    private static final long CS = 65536;
    private static final long COPIED = L2Entry.OFLAG_COPIED;

    @Test
    void subclusterTypes() {
        assertThat(SubclusterType.of(0, 0, 0, false, false)).isEqualTo(SubclusterType.UNALLOCATED_PLAIN);
        assertThat(SubclusterType.of(0x50000 | COPIED, 0, 0, false, false)).isEqualTo(SubclusterType.NORMAL);
        assertThat(SubclusterType.of(1, 0, 0, false, false)).isEqualTo(SubclusterType.ZERO_PLAIN);
        assertThat(SubclusterType.of(0x50001, 0, 0, false, false)).isEqualTo(SubclusterType.ZERO_ALLOC);
        assertThat(SubclusterType.of(L2Entry.OFLAG_COMPRESSED, 0, 0, false, false))
                .isEqualTo(SubclusterType.COMPRESSED);
        // offset 0 in an external data file is a cluster when OFLAG_COPIED says so
        assertThat(SubclusterType.of(COPIED, 0, 0, false, true)).isEqualTo(SubclusterType.NORMAL);
        assertThat(SubclusterType.of(COPIED, 0, 0, false, false)).isEqualTo(SubclusterType.UNALLOCATED_PLAIN);
        // extended L2: per subcluster, and invalid bitmaps for the whole entry
        long bitmap = SubclusterBitmap.of(0b01, 0b10);
        assertThat(SubclusterType.of(0x50000, bitmap, 0, true, false)).isEqualTo(SubclusterType.NORMAL);
        assertThat(SubclusterType.of(0x50000, bitmap, 1, true, false)).isEqualTo(SubclusterType.ZERO_ALLOC);
        assertThat(SubclusterType.of(0x50000, bitmap, 2, true, false)).isEqualTo(SubclusterType.UNALLOCATED_ALLOC);
        assertThat(SubclusterType.of(0, SubclusterBitmap.of(0, 0b10), 1, true, false))
                .isEqualTo(SubclusterType.ZERO_PLAIN);
        assertThat(SubclusterType.of(0x50000, SubclusterBitmap.of(0b1, 0b1), 5, true, false))
                .isEqualTo(SubclusterType.INVALID);
        assertThat(SubclusterType.of(0, SubclusterBitmap.of(0b100, 0), 0, true, false))
                .isEqualTo(SubclusterType.INVALID);
    }

    @Test
    void corruptEntriesInQemusWords() {
        assertThat(L2Corruption.l2Table(0x40000, 0, CS)).isNull();
        assertThat(L2Corruption.l2Table(0x40200, 0, CS)).isEqualTo("L2 table offset 0x40200 unaligned (L1 index: 0)");
        assertThat(L2Corruption.entry(0x50000 | COPIED, 0, 0, 0x40000, 0, 3, false, false, CS)).isNull();
        assertThat(L2Corruption.entry(0x50200 | COPIED, 0, 0x100000, 0x40000, 16, 3, false, false, CS))
                .isEqualTo("Cluster allocation offset 0x50200 unaligned (L2 offset: 0x40000, L2 index: 0x10)");
        assertThat(L2Corruption.entry(0x50201, 0, 0x100000, 0x40000, 16, 3, false, false, CS))
                .startsWith("Cluster allocation offset 0x50200 unaligned");
        assertThat(L2Corruption.entry(1, 0, 0x100000, 0x40000, 16, 2, false, false, CS))
                .isEqualTo("Zero cluster entry found in pre-v3 image (L2 offset: 0x40000, L2 index: 0x10)");
        assertThat(L2Corruption.entry(1, 0, 0x100000, 0x40000, 16, 3, false, false, CS)).isNull();
        assertThat(L2Corruption.entry(0x20000 | COPIED, 0, 0x100000, 0x40000, 16, 3, false, true, CS))
                .isEqualTo("External data file host cluster offset 0x20000 does not match guest cluster offset: "
                        + "0x100000, L2 index: 0x10)");
        assertThat(L2Corruption.entry(0x100000 | COPIED, 0, 0x100000, 0x40000, 16, 3, false, true, CS)).isNull();
        assertThat(L2Corruption.entry(L2Entry.OFLAG_COMPRESSED | 0x50000, 0, 0, 0x40000, 3, 3, false, true, CS))
                .isEqualTo("Compressed cluster entry found in image with external data file (L2 offset: 0x40000,"
                        + " L2 index: 0x3)");
        assertThat(L2Corruption.entry(0x50000, SubclusterBitmap.of(1, 1), 0, 0x40000, 32, 3, true, false, CS))
                .isEqualTo("Invalid cluster entry found  (L2 offset: 0x40000, L2 index: 0x20)");
        assertThat(L2Corruption.unalignedWrite(0x50200, 0x1200))
                .isEqualTo("Data cluster offset 0x50200 unaligned (guest offset: 0x1200)");
    }
}
