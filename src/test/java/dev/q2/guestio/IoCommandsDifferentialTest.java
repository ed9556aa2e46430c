package dev.q2.guestio;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.TwoFolders;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * q2 io and qemu-io side by side on copies of one image: the same stdout (timings masked as the iotests mask them),
 * stderr and exit code. Pins qemu-io's option reading (getopt: clustered flags, attached values, options after
 * operands), its refusal of options q2 io does not implement (write -n and -s are refused, not ignored), its size
 * wording and its top-level -t/-n/-i/-k checks.
 */
@Tag("qemu")
class IoCommandsDifferentialTest {
    @TempDir
    Path dir;

    private void same(String... args) throws Exception {
        TwoFolders pair = TwoFolders.next(dir);
        Path q = pair.qemu();
        Path ours = pair.q2();
        for (Path d : List.of(q, ours)) {
            Qemu.img(d, "create", "-q", "-f", "qcow2", "t.qcow2", "64M");
            Qemu.io(d, "-c", "write -P 0x11 0 64k", "t.qcow2");
        }
        List<String> ioArgs = new ArrayList<>(List.of(args));
        ioArgs.add("t.qcow2");
        Qemu.Result expected = Qemu.io(q, ioArgs.toArray(String[]::new));
        ioArgs.add(0, "io");
        Cli.Result actual = Cli.runIn(ours, ioArgs.toArray(String[]::new));
        String what = String.join(" ", args);
        assertThat(masked(actual.out())).as(what).isEqualTo(masked(expected.out()));
        assertThat(actual.err().replace("q2: ", "")).as(what).isEqualTo(expected.err().replace("qemu-io: ", ""));
        assertThat(actual.exitCode()).as(what).isEqualTo(expected.exitCode());
    }

    private static final String WRITE_USAGE = "write [-bcCfnquz] [-P pattern | -s source_file] off len -- writes a"
            + " number of bytes at a specified offset\n";

    /**
     * A qemu-io option that q2 io does not implement: refused as qemu-io refuses an unknown option (getopt's line on
     * stderr, the command's usage on stdout, exit 1), the command not run, the image untouched.
     */
    private void refused(String command, char option, String usage) throws Exception {
        Path ours = TwoFolders.next(dir).q2();
        Qemu.img(ours, "create", "-q", "-f", "qcow2", "t.qcow2", "64M");
        Qemu.io(ours, "-c", "write -P 0x11 0 64k", "t.qcow2");
        byte[] before = Files.readAllBytes(ours.resolve("t.qcow2"));
        Files.copy(ours.resolve("t.qcow2"), ours.resolve("qemu.qcow2"));
        Qemu.Result accepted = Qemu.io(ours, "-c", command, "qemu.qcow2");
        assertThat(accepted.err()).as("qemu-io knows " + command).doesNotContain("invalid option");
        Cli.Result r = Cli.runIn(ours, "io", "-c", command, "t.qcow2");
        String cmd = command.split(" ")[0];
        assertThat(r.err()).as(command).isEqualTo(cmd + ": invalid option -- '" + option + "'\n");
        assertThat(r.out()).as(command).isEqualTo(usage);
        assertThat(r.exitCode()).as(command).isEqualTo(1);
        assertThat(Files.readAllBytes(ours.resolve("t.qcow2"))).as(command + ": image untouched").isEqualTo(before);
    }

    /** The statistics after "N ops; " vary from run to run; the iotests' filter masks them too. */
    private static String masked(String s) {
        return s.replaceAll("ops; .*", "ops; X");
    }

    @Test
    void optionsQ2IoDoesNotImplementAreRefusedNotIgnored() throws Exception {
        Qemu.assumeAvailable();
        refused("write -zn 0 512", 'n', WRITE_USAGE);
        refused("write -s src 0 512", 's', WRITE_USAGE);
        refused("write -n -z 0 512", 'n', WRITE_USAGE);
        same("-c", "write -Q 0 512");
        same("-c", "read -x 0 512");
        same("-c", "read 0 512 -P");
    }

    @Test
    void optionsReadAsGetoptReadsThem() throws Exception {
        Qemu.assumeAvailable();
        same("-c", "read -qP0x11 0 512");
        same("-c", "read -P 0x11 -q 0 512");
        same("-c", "read 0 512 -P 0x11");         // options after the operands
        same("-c", "read -P 0x12 -- 0 512");
        same("-c", "write -zu 0 64k", "-c", "read -P 0 0 64k");
        same("-c", "write -pq -P 7 0 512", "-c", "read -p -P 7 0 512");
        same("-c", "read 0 512 3");
        same("-c", "read 0");
        same("-c", "flush now");
        same("-c", "write -z -P 1 0 512");
        same("-c", "write -u 0 512");
        same("-c", "read -P 256 0 512");
        same("-c", "read -P 0xzz 0 512");
        same("-c", "read -P 010 0 512");
        same("-c", "read 0 x");
        same("-c", "read 0 99999999999999999999999");
        same("-c", "read 0 3G");
        same("-c", "nosuchcommand");
        same("-c", "write -P 3 0 512", "-c", "quit", "-c", "write -P 4 0 512", "-c", "read x");
        same("-c", "q", "-c", "read x");
    }

    @Test
    void sizesInQemuIosWords() throws Exception {
        Qemu.assumeAvailable();
        for (String len : List.of("1", "512", "1000", "1024", "1536", "10000", "65536", "1049600", "1572864",
                "3000000")) {
            same("-c", "write -P 5 0 " + len, "-c", "read -P 5 0 " + len);
        }
    }

    @Test
    void vectoredAndAioRequests() throws Exception {
        Qemu.assumeAvailable();
        same("-c", "writev -P 5 512 512 1k 3k", "-c", "readv -P 5 512 512 1k 3k", "-c", "readv -P 5 0 1k");
        same("-c", "writev -q 0 512 512", "-c", "readv -q -P 0xcd 0 1k");
        same("-c", "aio_write -P 7 4k 4k", "-c", "aio_flush", "-c", "aio_read -P 7 4k 4k", "-c", "aio_flush");
        same("-c", "aio_write -z 8k 4k", "-c", "aio_flush", "-c", "aio_read -P 0 8k 4k", "-c", "aio_flush");
        same("-c", "aio_write -zu 0 64k", "-c", "aio_flush", "-c", "readv -P 0 0 64k");
        same("-c", "aio_write -u 0 512");
        same("-c", "aio_write -z 0 512 512");
        same("-c", "readv 0");
        same("-c", "readv 64M 512");
        same("-c", "writev 64M 512");
        same("-c", "aio_write 64M 512", "-c", "aio_flush");
        same("-c", "aio_read 64M 512", "-c", "aio_flush");
        same("-c", "aio_read -P 9 0 512", "-c", "aio_flush");       // exits 0: the failure comes after the command
        same("-c", "readv -P 9 0 512");                             // exits 1
        same("-c", "readv 0 3G");
        same("-c", "readv -P 5 0 x");
        same("-c", "aio_flush x");
        refused("aio_write -i 0 512", 'i', "aio_write [-Cfiquz] [-P pattern] off len [len..] -- asynchronously writes"
                + " a number of bytes\n");
        refused("aio_read -i 0 512", 'i', "aio_read [-Ciqv] [-P pattern] off len [len..] -- asynchronously reads a"
                + " number of bytes\n");
    }

    @Test
    void lengthInQemuIosWords() throws Exception {
        Qemu.assumeAvailable();
        same("-c", "length", "-c", "l");
        same("-c", "length x");
        for (String size : List.of("1000", "1536", "1049600", "1T", "0")) {
            Path q = Files.createDirectory(dir.resolve("len" + size));
            Qemu.img(q, "create", "-q", "-f", "qcow2", "s.qcow2", size);
            Qemu.Result expected = Qemu.io(q, "-r", "-c", "length", "s.qcow2");
            Cli.Result actual = Cli.runIn(q, "io", "-r", "-c", "length", "s.qcow2");
            assertThat(actual.out()).as(size).isEqualTo(expected.out());
            assertThat(actual.exitCode()).as(size).isEqualTo(expected.exitCode());
        }
    }

    @Test
    void cacheAndAioModesAreChecked() throws Exception {
        Qemu.assumeAvailable();
        same("--cache", "writeback", "--aio", "threads", "-f", "qcow2", "-c", "read 0 512");
        same("-t", "none", "-i", "native", "-c", "read 0 512");
        same("-n", "-k", "-c", "read 0 512");
        same("-t", "unsafe", "-c", "write 0 512");
        same("-t", "directsync", "-c", "read 0 512");
        same("-t", "writethrough", "-c", "read 0 512");
        same("-t", "bogus", "-c", "read 0 512");
        same("-i", "bogus", "-c", "read 0 512");
        same("-i", "native", "-c", "read 0 512");
    }
}
