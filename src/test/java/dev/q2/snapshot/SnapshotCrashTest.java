package dev.q2.snapshot;

import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Crash safety of snapshot create, apply and delete: the image file is copied at every point where the operation
 * syncs it (what a crash there leaves, the writes since the last sync aside). {@code qemu-img check -r all} must
 * repair every copy, and then every byte of guest data must be there: the active disk as it was before or as it is
 * after the operation, and every snapshot the copy lists with the guest data it was taken with.
 */
@Tag("qemu")
class SnapshotCrashTest {
    @TempDir
    Path dir;

    @BeforeEach
    void needQemu() {
        Qemu.assumeAvailable();
    }

    @ParameterizedTest
    @ValueSource(strings = {"cluster_size=65536", "cluster_size=4096,refcount_bits=8", "extended_l2=on",
        "compat=0.10"})
    void everySyncPointLeavesARepairableImage(String options) throws Exception {
        run(Qemu.img(dir, "create", "-q", "-f", "qcow2", "-o", options, "img.qcow2", "32M"));
        run(Qemu.io(dir, "-c", "write -P 1 0 1M", "-c", "write -c -P 2 4M 256k", "-c", "write -P 3 16M 64k",
                "img.qcow2"));
        run(Qemu.img(dir, "snapshot", "-c", "first", "img.qcow2"));
        byte[] first = guest("img.qcow2", null);
        run(Qemu.io(dir, "-c", "write -P 4 512k 1M", "-c", "write -z 4M 64k", "img.qcow2"));
        byte[] second = guest("img.qcow2", null);

        // create
        List<Path> crashes = new ArrayList<>();
        try (Qcow2Snapshots s = open(crashes)) {
            s.create("second", 1, 0);
        }
        assertThat(crashes).hasSizeGreaterThanOrEqualTo(4);
        verify(crashes, List.of(second), first, second);
        // apply: the active disk goes from the second state back to the first
        crashes.clear();
        try (Qcow2Snapshots s = open(crashes)) {
            s.apply("first");
        }
        assertThat(crashes).hasSizeGreaterThanOrEqualTo(4);
        verify(crashes, List.of(second, first), first, second);
        assertThat(guest("img.qcow2", null)).isEqualTo(first);
        // delete
        crashes.clear();
        try (Qcow2Snapshots s = open(crashes)) {
            s.delete("second");
        }
        assertThat(crashes).hasSizeGreaterThanOrEqualTo(4);
        verify(crashes, List.of(first), first, second);
        Qemu.Result check = Qemu.img(dir, "check", "img.qcow2");
        assertThat(check.exitCode()).as(check.out() + check.err()).isZero();
    }

    private Qcow2Snapshots open(List<Path> crashes) throws IOException {
        Path image = dir.resolve("img.qcow2");
        Qcow2Snapshots s = Qcow2Snapshots.open(image, true, false, new PrintWriter(new StringWriter()));
        s.onSync(() -> {
            try {
                Path copy = dir.resolve("crash" + crashes.size() + ".qcow2");
                Files.copy(image, copy);
                crashes.add(copy);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        return s;
    }

    /**
     * Each copy, once repaired: the active disk is one of {@code active}, and the snapshots named "first" and
     * "second" (where listed) hold {@code first} and {@code second}.
     */
    private void verify(List<Path> crashes, List<byte[]> active, byte[] first, byte[] second) throws Exception {
        for (Path crash : crashes) {
            String name = crash.getFileName().toString();
            Qemu.Result repair = Qemu.img(dir, "check", "-r", "all", name);
            assertThat(repair.exitCode()).as(name + ": " + repair.out() + repair.err()).isZero();
            byte[] now = guest(name, null);
            assertThat(active.stream().anyMatch(a -> java.util.Arrays.equals(a, now))).as(name + " active data")
                    .isTrue();
            String list = Qemu.img(dir, "snapshot", "-l", name).out();
            if (list.contains(" first ")) {
                assertThat(guest(name, "first")).as(name + " snapshot first").isEqualTo(first);
            }
            if (list.contains(" second ")) {
                assertThat(guest(name, "second")).as(name + " snapshot second").isEqualTo(second);
            }
            Files.delete(crash);
        }
    }

    private byte[] guest(String image, String snapshot) throws IOException {
        Path raw = dir.resolve("guest.raw");
        Files.deleteIfExists(raw);
        if (snapshot == null) {
            run(Qemu.img(dir, "convert", "-O", "raw", image, "guest.raw"));
        } else {
            run(Qemu.img(dir, "convert", "-l", "snapshot.name=" + snapshot, "-O", "raw", image, "guest.raw"));
        }
        byte[] b = Files.readAllBytes(raw);
        Files.delete(raw);
        return b;
    }

    private static void run(Qemu.Result r) {
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
    }
}
