package dev.q2.convert;

import dev.q2.image.BlockDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(20)
class ReadAheadTest {
    @Test
    void stepsArriveInOrderWithTheirDataAndBuffersAreReused() throws IOException {
        List<Long> seen = new ArrayList<>();
        try (ReadAhead ahead = new ReadAhead(2, 16, out -> {
            for (long i = 0; i < 1000; i++) {
                ByteBuffer b = null;
                BlockDevice.Kind kind = i % 3 == 0 ? BlockDevice.Kind.ZERO : BlockDevice.Kind.DATA;
                if (kind == BlockDevice.Kind.DATA) {
                    b = out.buffer();
                    b.putLong(i).flip();
                }
                out.put(new ReadAhead.Step(i * 16, 16, kind, b));
            }
        })) {
            for (ReadAhead.Step s; (s = ahead.next()) != null; ) {
                long i = s.pos() / 16;
                seen.add(i);
                if (s.data() != null) {
                    assertThat(s.data().getLong(0)).isEqualTo(i);
                    ahead.recycle(s.data());
                } else {
                    assertThat(i % 3).isZero();
                }
            }
            assertThat(ahead.next()).isNull();
        }
        assertThat(seen).hasSize(1000).isSorted();
    }

    @Test
    void theReadersFailureReachesTheWriterAfterTheStepsBeforeIt() throws IOException {
        try (ReadAhead ahead = new ReadAhead(1, 16, out -> {
            out.put(new ReadAhead.Step(0, 16, BlockDevice.Kind.ZERO, null));
            throw new IOException("disk on fire");
        })) {
            assertThat(ahead.next().pos()).isZero();
            assertThatThrownBy(ahead::next).isInstanceOf(IOException.class).hasMessage("disk on fire");
        }
    }

    @Test
    void closingEarlyStopsAReaderThatWaitsForABuffer() throws IOException {
        Thread[] reader = new Thread[1];
        ReadAhead ahead = new ReadAhead(1, 16, out -> {
            reader[0] = Thread.currentThread();
            while (true) {
                out.put(new ReadAhead.Step(0, 16, BlockDevice.Kind.DATA, out.buffer()));
            }
        });
        assertThat(ahead.next()).isNotNull(); // the reader now waits for that buffer, which never comes back
        ahead.close();
        assertThat(reader[0].isAlive()).isFalse();
    }
}
