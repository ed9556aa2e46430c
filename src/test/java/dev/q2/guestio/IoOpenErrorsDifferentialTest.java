package dev.q2.guestio;

import dev.q2.testutil.IoComparison;
import dev.q2.testutil.Qemu;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** q2 io refuses what qemu-io cannot open with qemu-io's words ("can't open device F: ...") and exit code. */
@Tag("qemu")
class IoOpenErrorsDifferentialTest {
    @TempDir
    Path dir;

    private void same(String... args) {
        sameResult(true, args);
    }

    private void sameResult(boolean qemuFails, String... args) {
        Qemu.Result q = IoComparison.same(dir, args);
        if (qemuFails) {
            assertThat(q.exitCode()).as(String.join(" ", args)).isNotZero();
        }
    }

    /**
     * An image whose external data file it does not name (iotest 061 after {@code amend -o data_file=}): refused
     * without {@code data-file.filename}, opened with it, with or without a file name beside the options, and a
     * data file that is not there named as the user named it.
     */
    @Test
    void dataFileGivenOnlyByTheUser() throws Exception {
        Qemu.assumeAvailable();
        Qemu.imgOk(dir, "create", "-q", "-f", "qcow2", "-o", "data_file=d.data", "d.qcow2", "1M");
        Qemu.ioOk(dir, "d.qcow2", "write -P 7 0 64k");
        Qemu.imgOk(dir, "amend", "-o", "data_file=", "--image-opts", "data-file.filename=d.data,file.filename=d.qcow2");
        same("-c", "read -P 7 0 4k", "d.qcow2");
        sameResult(false, "-c", "open -o data-file.filename=d.data,file.filename=d.qcow2", "-c", "read -P 7 0 4k");
        sameResult(false, "-c", "open -o data-file.filename=d.data d.qcow2", "-c", "read -P 7 0 4k");
        sameResult(false, "-c", "open -o data-file.filename=nope d.qcow2");
        sameResult(false, "-c", "open -o data-file.filename=nope,file.filename=d.qcow2");
        sameResult(false, "-c", "open -o data-file.filename=d.data,file.filename=nope");
    }

    @Test
    void openErrors() throws Exception {
        Qemu.assumeAvailable();
        Files.createDirectory(dir.resolve("folder"));
        Files.writeString(dir.resolve("junk.qcow2"), "not an image\n");
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "held.qcow2", "4M");
        same("-c", "read 0 512", "missing.qcow2");
        same("-c", "read 0 512", "folder");
        same("-c", "read 0 512", "");
        same("-f", "qcow2", "-c", "read 0 512", "junk.qcow2");
        // a backing file that is gone (iotest 069), named as the image names it, relative to the image's folder
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "gone.base", "128k");
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "-b", "gone.base", "-F", "qcow2", "top.qcow2", "128k");
        Files.delete(dir.resolve("gone.base"));
        same("-c", "quit", "top.qcow2");
        same("-r", "-c", "read 0 512", "top.qcow2");
        Files.createDirectory(dir.resolve("sub"));
        Files.copy(dir.resolve("top.qcow2"), dir.resolve("sub/top.qcow2"));
        same("-c", "quit", "sub/top.qcow2");
        try (Qemu.Holder holder = Qemu.holdForWriting(dir, "held.qcow2")) {
            same("-c", "write 0 512", "held.qcow2");
            same("-r", "-c", "read 0 512", "held.qcow2");
        }
    }

    @Test
    void characterDevicesAsTheProtocolDriversTakeThem() throws Exception {
        // iotest 226: host_device and host_cdrom open /dev/null (read-only and read-write), file refuses it and a
        // folder; /dev/null and /dev/zero read as zero bytes long
        Qemu.assumeAvailable();
        Files.createDirectory(dir.resolve("folder"));
        for (String driver : new String[] {"file", "host_device", "host_cdrom"}) {
            for (String ro : new String[] {"-r ", ""}) {
                sameResult(false, "-c", "open " + ro + "-o driver=" + driver + ",filename=folder");
                sameResult(false, "-c", "open " + ro + "-o driver=" + driver + ",filename=/dev/null,locking=off");
            }
        }
        sameResult(false, "-c", "open -r -o driver=host_device,filename=/dev/null");
        for (String c : new String[] {"length", "read 0 512", "write 0 512"}) {
            sameResult(false, "-c", "open -o driver=host_device,filename=/dev/zero,locking=off", "-c", c);
        }
    }

    private void poke(String image, long offset, int... bytes) throws Exception {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(dir.resolve(image),
                java.nio.file.StandardOpenOption.WRITE)) {
            byte[] b = new byte[bytes.length];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) bytes[i];
            }
            ch.write(java.nio.ByteBuffer.wrap(b), offset);
        }
    }

    /** iotest 080's header damage, opened by q2 io: QEMU's words for each (qcow2_do_open, qcow2_validate_table). */
    @Test
    void headerErrorsInQemusWords() throws Exception {
        Qemu.assumeAvailable();
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "h.qcow2", "64M");
        poke("h.qcow2", 100, 0xff, 0xff, 0xff, 0xff);          // header_length, unsigned: exceeds the cluster
        same("-c", "read 0 512", "h.qcow2");
        poke("h.qcow2", 100, 0x7f, 0xff, 0xff, 0xff);
        same("-c", "read 0 512", "h.qcow2");
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "r.qcow2", "64M");
        poke("r.qcow2", 48, 0x12, 0x34, 0x56, 0x78, 0x90, 0xab, 0xcd, 0xef);   // misaligned refcount table
        same("-c", "read 0 512", "r.qcow2");
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "r2.qcow2", "64M");
        poke("r2.qcow2", 48, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0);         // huge refcount table offset
        poke("r2.qcow2", 56, 0, 0, 0, 0x7f);
        same("-c", "read 0 512", "r2.qcow2");
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "s.qcow2", "64M");
        poke("s.qcow2", 60, 0xff, 0xff, 0xff, 0xff);                             // nb_snapshots
        same("-c", "read 0 512", "s.qcow2");
        poke("s.qcow2", 60, 0x7f, 0xff, 0xff, 0xff);
        same("-c", "read 0 512", "s.qcow2");
        poke("s.qcow2", 64, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0);
        poke("s.qcow2", 60, 0, 0, 0xff, 0xff);
        same("-c", "read 0 512", "s.qcow2");
        poke("s.qcow2", 64, 0x12, 0x34, 0x56, 0x78, 0x90, 0xab, 0xcd, 0xef);
        poke("s.qcow2", 60, 0, 0, 0, 0);
        same("-c", "read 0 512", "s.qcow2");
        // 65536 snapshots at 16 MiB, past the end of the file: QEMU reads them as zeros and opens the image
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "z.qcow2", "64M");
        poke("z.qcow2", 64, 0, 0, 0, 0, 1, 0, 0, 0);
        poke("z.qcow2", 60, 0, 1, 0, 0);
        sameResult(false, "-c", "read 0 512", "z.qcow2");
    }

    /** iotest 214: a compressed cluster whose size field is too small inflates short: EIO, and the run goes on. */
    @Test
    void compressedClusterThatInflatesShort() throws Exception {
        Qemu.assumeAvailable();
        Qemu.img(dir, "create", "-q", "-f", "qcow2", "-o", "cluster_size=2M,compression_type=zlib", "c.qcow2", "8M");
        Qemu.io(dir, "-c", "write -c -P 0x11 0 2M", "-c", "write -c -P 0x11 2M 2M", "c.qcow2");
        poke("c.qcow2", 0x800000, 0x40, 0x06);
        sameResult(true, "-c", "read -P 0x11 0 4M", "-c", "read -P 0x11 2M 2M", "-c", "read -P 0 4M 4M", "c.qcow2");
    }
}
