package dev.q2.info;

import dev.q2.io.QemuLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class DiskUsageTest {
    @TempDir
    Path dir;

    @Test
    void reportsAllocatedBlocksNotTheLength() throws Exception {
        Path sparse = dir.resolve("sparse");
        try (FileChannel ch = FileChannel.open(sparse, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[4096]), 64L << 20);
        }
        long used = DiskUsage.allocatedBytes(sparse);
        assertThat(used).isPositive().isLessThan(1L << 20);
    }

    @Test
    void measuringAnOpenImageKeepsItsLocks() throws Exception {
        Path img = Files.write(dir.resolve("img"), new byte[4096]);
        long ino = ((Number) Files.getAttribute(img, "unix:ino")).longValue();
        try (FileChannel ch = FileChannel.open(img);
             QemuLock lock = QemuLock.acquire(ch, img, QemuLock.PERM_CONSISTENT_READ, QemuLock.PERM_ALL)) {
            assertThat(locksOn(ino)).isPositive();
            DiskUsage.allocatedBytes(img);
            // closing any other descriptor of the file would have dropped this process's POSIX locks on it
            assertThat(locksOn(ino)).isPositive();
        }
    }

    private static long locksOn(long ino) throws Exception {
        return Files.readAllLines(Path.of("/proc/locks")).stream().filter(l -> l.contains(":" + ino + " ")).count();
    }
}
