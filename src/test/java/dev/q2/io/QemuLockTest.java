package dev.q2.io;

import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The two ways q2 tests for QEMU's image locks, F_OFD_GETLK through the JNI helper and /proc/locks, give the same
 * answer for every combination of wanted and shared permissions, while a qemu-io holds the image for writing.
 */
@Tag("qemu")
class QemuLockTest {
    @TempDir
    Path dir;

    @Test
    void nativeTestAndProcLocksAgreeOnEveryPermissionCombination() throws Exception {
        Qemu.assumeAvailable();
        assertThat(NativeFiles.available()).as("JNI helper loads on this platform").isTrue();
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "img.qcow2", "64M");
        Path img = dir.resolve("img.qcow2");
        try (Qemu.Holder holder = Qemu.holdForWriting(dir, "img.qcow2")) {
            // /proc/locks is read once: under load each read can take the kernel a long time.
            int[] all = {100, 101, 102, 103, 200, 201, 202, 203};
            boolean[] procAll = QemuLock.testProcLocks(img, all);
            assertThat(QemuLock.testNatively(img, all)).isEqualTo(procAll);
            int conflicts = 0;
            for (int perms = 0; perms <= QemuLock.PERM_ALL; perms++) {
                for (int shared = 0; shared <= QemuLock.PERM_ALL; shared++) {
                    int[] bytes = QemuLock.wantedBytes(perms, shared);
                    boolean[] viaNative = QemuLock.testNatively(img, bytes);
                    boolean[] viaProc = new boolean[bytes.length];
                    for (int k = 0; k < bytes.length; k++) {
                        viaProc[k] = procAll[java.util.Arrays.binarySearch(all, bytes[k])];
                    }
                    assertThat(viaNative).as("perms %d shared %d", perms, shared).isNotNull().isEqualTo(viaProc);
                    for (boolean b : viaNative) {
                        conflicts += b ? 1 : 0;
                    }
                }
            }
            // qemu-io holds consistent read + write and refuses to share write and resize: both tests see them.
            assertThat(conflicts).isPositive();
            boolean[] readOnly = QemuLock.testNatively(img, QemuLock.wantedBytes(QemuLock.PERM_CONSISTENT_READ,
                    QemuLock.PERM_ALL));
            assertThat(readOnly).containsOnly(false);
        }
    }

    @Test
    void ownLocksSendTheNativeTestToProcLocks() throws Exception {
        assertThat(NativeFiles.available()).as("JNI helper loads on this platform").isTrue();
        Path img = Files.write(dir.resolve("img"), new byte[512]);
        int[] bytes = QemuLock.wantedBytes(QemuLock.PERM_ALL, 0);
        try (FileChannel ch = FileChannel.open(img);
             QemuLock lock = QemuLock.acquire(ch, img, QemuLock.PERM_CONSISTENT_READ, QemuLock.PERM_CONSISTENT_READ)) {
            // F_OFD_GETLK reports this JVM's POSIX locks; only /proc/locks can tell them from another process's.
            assertThat(QemuLock.testNatively(img, bytes)).isNull();
            assertThat(QemuLock.testProcLocks(img, bytes)).containsOnly(false);
        }
        assertThat(QemuLock.testNatively(img, bytes)).containsOnly(false);
    }

    @Test
    void theHoldsOfThisJvmCountAsQemusOwnLocksDo() throws Exception {
        Path img = Files.write(dir.resolve("img"), new byte[512]);
        int reader = QemuLock.PERM_ALL & ~(QemuLock.PERM_WRITE | QemuLock.PERM_RESIZE);
        try (FileChannel ch = FileChannel.open(img);
             QemuLock lock = QemuLock.acquire(ch, img, QemuLock.PERM_CONSISTENT_READ, reader)) {
            // a second reader is fine; a writer is refused, as QEMU refuses to open its own source for writing
            QemuLock.check(img, QemuLock.PERM_CONSISTENT_READ, reader);
            assertThatThrownBy(() -> QemuLock.check(img, QemuLock.PERM_ALL, 0))
                    .isInstanceOf(QemuLock.LockConflictException.class)
                    .hasMessageStartingWith("Failed to get \"write\" lock");
            assertThatThrownBy(() -> QemuLock.checkCanCreate(img))
                    .isInstanceOf(QemuLock.LockConflictException.class)
                    .hasMessageStartingWith("Failed to get \"write\" lock");
        }
        QemuLock.check(img, QemuLock.PERM_ALL, 0);
        // a hold whose channel was closed without closing the hold no longer counts
        FileChannel ch = FileChannel.open(img);
        QemuLock.acquire(ch, img, QemuLock.PERM_CONSISTENT_READ, reader);
        ch.close();
        QemuLock.check(img, QemuLock.PERM_ALL, 0);
    }
}
