package dev.q2.guestio;

import dev.q2.image.DiskOptions;
import dev.q2.image.Qcow2Disk;
import dev.q2.io.FileStorage;
import dev.q2.io.Storage;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import dev.q2.testutil.TwoFolders;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * qemu-io's {@code write -b} and {@code read -b}, the VM state area of a qcow2 image (iotests 022 and 029): q2 io
 * prints what qemu-io prints and leaves the image byte for byte as qemu-io leaves it (the area after the L1 entry
 * that maps the end of the disk, the L1 table grown as QEMU grows it); its refusals in qemu-io's words; and the L1
 * growth is crash safe (a copy of the file at every sync point is repaired by qemu-img check -r all and keeps every
 * byte written before).
 */
class IoVmStateDifferentialTest extends QemuTest {
    /** q2 io and qemu-io with {@code args} on t.qcow2 made by {@code create}: the same output and image bytes. */
    private void same(String create, String... args) throws Exception {
        List<String> a = new ArrayList<>(List.of(args));
        a.add("t.qcow2");
        TwoFolders pair = IoSessionDifferentialTest.sameIo(dir, create, a.toArray(String[]::new));
        assertThat(Files.readAllBytes(pair.q2().resolve("t.qcow2"))).as(String.join(" ", args))
                .isEqualTo(Files.readAllBytes(pair.qemu().resolve("t.qcow2")));
    }

    @Test
    void vmStateIsWrittenAndReadAsQemuIoDoesIt() throws Exception {
        String g6 = "qemu-img create -q -f qcow2 -o cluster_size=4k t.qcow2 6G";
        same(g6, "-c", "write -b -P 1 10485760 4096", "-c", "write -b -P 2 4294967296 8192", "-c",
                "write -b -P 3 4294969344 4096", "-c", "read -b -P 1 10485760 4096", "-c",
                "read -b -P 2 4294967296 2048", "-c", "read -b -P 3 4294969344 4096", "-c", "read -b -P 0 0 512",
                "-c", "read -P 0 0 1M");
        same("qemu-img create -q -f qcow2 t.qcow2 64M", "-c", "write -b -P 0x11 1T 4k", "-c",
                "read -b -P 0x11 1T 4k", "-c", "read -b -v 1T 512", "-c", "write -b -q 0 4k", "-c",
                "read -b -C 100T 512");
        same("qemu-img create -q -f qcow2 -o cluster_size=1k t.qcow2 16M", "-c", "write -b 0 4M", "-c",
                "write -c -P 5 0 1k", "-c", "write -b -P 6 2M 1k", "-c", "read -b -P 6 2M 1k");
        same("qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=128k t.qcow2 100M", "-c",
                "write -b -P 7 0 64k", "-c", "write -b -P 8 3G 4k", "-c", "read -b -P 7 0 64k");
        same("qemu-img create -q -f qcow2 -o compat=0.10 t.qcow2 64M", "-c", "write -b -P 9 512 512");
        same("qemu-img create -q -f qcow2 -o compat=1.1,lazy_refcounts=on t.qcow2 64M", "-t", "writeback", "-c",
                "write -b -P 9 512 512", "-c", "write -P 1 0 64k");
    }

    @Test
    void vmStateRequestsAreRefusedAsQemuIoRefusesThem() throws Exception {
        String img = "qemu-img create -q -f qcow2 t.qcow2 64M";
        same(img, "-c", "write -b -z 0 512", "-c", "write -bz 513 512", "-c", "write -b -f 0 512", "-c",
                "write -bu 0 512", "-c", "write -b 513 1000", "-c", "read -b 513 1000", "-c", "read -b -v 0 16",
                "-c", "write -b -P 300 0 512", "-c", "read -b -l 10 0 512", "-c", "read -b -P 1 -l 1024 0 512",
                "-c", "write -c 513 64k", "-c", "write -c 0 1000", "-c", "write -c -f 0 64k");
        same(img, "-r", "-c", "write -b 0 512", "-c", "read -b 0 512");
        same("qemu-img create -q -f raw t.qcow2 1M", "-f", "raw", "-c", "write -b 0 512", "-c", "read -b 0 512");
    }

    /** The image file as a storage that copies the file at every flush, as a crash right after it would leave it. */
    private static Storage copyingAtEveryFlush(Path path, List<Path> copies) throws IOException {
        FileStorage file = FileStorage.openReadWrite(path);
        return (Storage) java.lang.reflect.Proxy.newProxyInstance(Storage.class.getClassLoader(),
                new Class<?>[] {Storage.class}, (proxy, method, args) -> {
                    Object r;
                    try {
                        r = method.invoke(file, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                    if (method.getName().equals("flush")) {
                        Path copy = path.resolveSibling("crash" + copies.size() + ".qcow2");
                        Files.copy(path, copy, StandardCopyOption.REPLACE_EXISTING);
                        copies.add(copy);
                    }
                    return r;
                });
    }

    /**
     * The L1 table grows in a write to the VM state area: at every sync point, the file repairs to a clean image
     * that still reads the guest data written before (and the VM state written before, checked by qemu-io).
     */
    @Test
    void growingTheL1TableIsSafeAtEverySyncPoint() throws Exception {
        for (String lazy : List.of("off", "on")) {
            Files.deleteIfExists(dir.resolve("img.qcow2"));
            Files.deleteIfExists(dir.resolve("before.raw"));
            img("create", "-q", "-f", "qcow2", "-o", "cluster_size=4k,lazy_refcounts=" + lazy, "img.qcow2", "6G");
            io("img.qcow2", "write -P 0x11 0 64k", "write -P 0x22 3G 8k", "write -b -P 0x33 0 4k");
            img("convert", "-O", "raw", "img.qcow2", "before.raw");
            List<Path> copies = new ArrayList<>();
            StringWriter out = new StringWriter();
            PrintWriter w = new PrintWriter(out, true);
            try (Qcow2Disk disk = Qcow2Disk.open(copyingAtEveryFlush(dir.resolve("img.qcow2"), copies),
                    DiskOptions.readWrite(), w)) {
                IoScript script = new IoScript(disk, w, w);
                script.run("write -P 0x44 4G 4k");            // guest data, then the VM state far past the L1 table
                script.run("write -b -P 0x55 4294967296 8k");
                script.run("write -b -P 0x66 12G 4k");
                assertThat(script.failed()).as(out.toString()).isFalse();
            }
            assertThat(copies.size()).as("sync points").isGreaterThan(5);
            Qemu.ok(Qemu.img(dir, "check", "img.qcow2"));
            for (Path c : copies) {
                String name = c.getFileName().toString();
                Qemu.Result repair = Qemu.img(dir, "check", "-r", "all", name);
                assertThat(repair.exitCode()).as(name + ": " + repair.out() + repair.err()).isZero();
                Qemu.ok(Qemu.img(dir, "check", name));
                Qemu.ok(Qemu.io(dir, "-c", "read -P 0x11 0 64k", "-c", "read -P 0x22 3G 8k", "-c",
                        "read -b -P 0x33 0 4k", name));
                Qemu.Result vm = Qemu.io(dir, "-c", "read -b -P 0x55 4294967296 8k", name);
                assertThat(vm.out()).as(name).doesNotContain("failed:");
            }
        }
    }
}
