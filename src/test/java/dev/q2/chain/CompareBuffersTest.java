package dev.q2.chain;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link Rebase#differingRun}: qemu-img's compare_buffers, in 512-byte sectors. */
class CompareBuffersTest {
    @Test
    void runsOfWholeSectorsThatAllDifferOrAllMatch() {
        byte[] a = new byte[4096];
        byte[] b = new byte[4096];
        b[1000] = 1; // sector 1
        b[1536] = 1; // sector 3
        b[2047] = 1; // sector 3 again
        assertThat(Rebase.differingRun(a, b, 0, 4096)).isEqualTo(-512); // sector 0 matches
        assertThat(Rebase.differingRun(a, b, 512, 4096)).isEqualTo(512); // sector 1 differs
        assertThat(Rebase.differingRun(a, b, 1024, 4096)).isEqualTo(-512);
        assertThat(Rebase.differingRun(a, b, 1536, 4096)).isEqualTo(512);
        assertThat(Rebase.differingRun(a, b, 2048, 4096)).isEqualTo(-2048); // to the end
    }

    @Test
    void aShortLastSectorCounts() {
        byte[] a = new byte[1000];
        byte[] b = new byte[1000];
        b[999] = 7;
        assertThat(Rebase.differingRun(a, b, 0, 1000)).isEqualTo(-512);
        assertThat(Rebase.differingRun(a, b, 512, 1000)).isEqualTo(488);
    }
}
