package dev.q2.inspect;

import dev.q2.testutil.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Commands that follow an image's references (check, map, compare, convert, io, info --backing-chain) refuse a
 * backing or data file that is a FIFO instead of waiting for a writer forever, as qemu-img would (issue 11,
 * "nothing may block forever on a FIFO"). No writer ever opens these FIFOs: a command that opened one would hang,
 * and the timeout turns that into a failure instead of a hung build.
 */
@Timeout(120)
class FifoReferenceTest {
    @TempDir
    Path dir;

    private static final String[][] COMMANDS = {
        {"check", "top.qcow2"},
        {"map", "top.qcow2"},
        {"compare", "top.qcow2", "top.qcow2"},
        {"convert", "-O", "raw", "top.qcow2", "out.raw"},
        {"io", "-r", "-c", "read 0 512", "top.qcow2"},
        {"info", "--backing-chain", "top.qcow2"},
    };

    @Test
    void backingFileFifoIsRefused() throws Exception {
        Images.qcow2(dir, "top.qcow2", List.of("-u", "-b", "base.fifo", "-F", "raw"));
        Images.mkfifo(dir.resolve("base.fifo"));
        for (String[] command : COMMANDS) {
            Cli.Result r = Cli.runIn(dir, command);
            assertThat(r.exitCode()).as(String.join(" ", command) + ": " + r.err()).isNotZero();
            assertThat(r.err()).as(String.join(" ", command)).contains("Is a named pipe (q2 does not open FIFOs)");
        }
    }

    @Test
    void dataFileFifoIsRefused() throws Exception {
        Images.qcow2(dir, "top.qcow2", List.of("-o", "data_file=data.fifo"));
        Files.delete(dir.resolve("data.fifo"));
        Images.mkfifo(dir.resolve("data.fifo"));
        for (String[] command : new String[][] {COMMANDS[1], COMMANDS[2], COMMANDS[3], COMMANDS[4]}) {
            Cli.Result r = Cli.runIn(dir, command);
            assertThat(r.exitCode()).as(String.join(" ", command) + ": " + r.err()).isNotZero();
            assertThat(r.err()).as(String.join(" ", command)).contains("Is a named pipe (q2 does not open FIFOs)");
        }
    }
}
