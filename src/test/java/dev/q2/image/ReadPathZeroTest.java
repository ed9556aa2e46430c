package dev.q2.image;

import org.junit.jupiter.api.Test;

import java.nio.BufferOverflowException;
import java.nio.ByteBuffer;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The read path's bulk zero fill: at the buffer's position, in heap slices and direct buffers alike. */
class ReadPathZeroTest {
    @Test
    void fillsAHeapSliceAtItsPosition() {
        byte[] backing = new byte[200];
        Arrays.fill(backing, (byte) 7);
        ByteBuffer slice = ByteBuffer.wrap(backing, 50, 100).slice(); // arrayOffset 50
        slice.position(10);
        ReadPath.zero(slice, 20);
        assertThat(slice.position()).isEqualTo(30);
        for (int i = 0; i < backing.length; i++) {
            assertThat(backing[i]).as("byte %d", i).isEqualTo((byte) (i >= 60 && i < 80 ? 0 : 7));
        }
    }

    @Test
    void fillsADirectBufferInChunks() {
        ByteBuffer direct = ByteBuffer.allocateDirect(200_000);
        for (int i = 0; i < direct.capacity(); i++) {
            direct.put(i, (byte) 9);
        }
        direct.position(3);
        ReadPath.zero(direct, 150_000);
        assertThat(direct.position()).isEqualTo(150_003);
        assertThat(direct.get(2)).isEqualTo((byte) 9);
        assertThat(direct.get(3)).isZero();
        assertThat(direct.get(150_002)).isZero();
        assertThat(direct.get(150_003)).isEqualTo((byte) 9);
    }

    @Test
    void refusesMoreThanRemains() {
        ByteBuffer b = ByteBuffer.allocate(10);
        assertThatThrownBy(() -> ReadPath.zero(b, 11)).isInstanceOf(BufferOverflowException.class);
        assertThat(b.position()).isZero();
    }
}
