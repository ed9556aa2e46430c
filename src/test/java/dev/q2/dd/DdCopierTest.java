package dev.q2.dd;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** qemu-img dd's size arithmetic (img_dd): count counts from the input's start, skip past the end empties. */
class DdCopierTest {
    private static DdCopier.Request req(int bs, long count, long skip) {
        return new DdCopier.Request(Path.of("in"), null, Path.of("out"), "raw", bs, count, skip, false);
    }

    @Test
    void countLimitsTheInputFromItsStartNotFromSkip() {
        assertThat(DdCopier.outputSize(1 << 20, req(512, 4, 2))).isEqualTo(2 * 512);
        assertThat(DdCopier.outputSize(1 << 20, req(512, -1, 2))).isEqualTo((1 << 20) - 1024);
        assertThat(DdCopier.outputSize(1000, req(512, 100, -1))).isEqualTo(1000);
    }

    @Test
    void skipPastTheEndIsMarkedNotRefused() {
        assertThat(DdCopier.outputSize(1 << 20, req(4096, -1, 1000))).isNegative();
        assertThat(DdCopier.outputSize(1 << 20, req(4096, -1, Long.MAX_VALUE / 2))).isNegative();
        assertThat(DdCopier.outputSize(1 << 20, req(4096, -1, 256))).isZero();
    }

    @Test
    void hugeCountsDoNotOverflow() {
        assertThat(DdCopier.outputSize(1 << 20, req(Integer.MAX_VALUE, Long.MAX_VALUE, -1))).isEqualTo(1 << 20);
    }
}
