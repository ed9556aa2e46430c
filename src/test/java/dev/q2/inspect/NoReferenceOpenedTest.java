package dev.q2.inspect;

import dev.q2.testutil.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.FileOutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * inspect never opens a file the image names. Each image names a FIFO (as backing file, data file, VMDK extent);
 * a thread holds the FIFO's write end open-pending, which returns as soon as any reader opens it. Had inspect
 * opened the FIFO, that open would have returned while inspect ran; it must return only when the test itself opens
 * the read end afterwards. (Without the writer, an open by inspect would block it forever: the timeout only keeps a
 * regression from hanging the build.)
 */
@Timeout(120)
class NoReferenceOpenedTest {
    @TempDir
    Path dir;

    /** Runs {@code inspect} while watching {@code fifo}; fails if anything opened the FIFO meanwhile. */
    private Cli.Result inspectWatching(Path fifo, String... args) throws Exception {
        AtomicBoolean inspectDone = new AtomicBoolean();
        AtomicBoolean openedDuringInspect = new AtomicBoolean();
        Thread writer = new Thread(() -> {
            try (FileOutputStream w = new FileOutputStream(fifo.toFile())) { // blocks until a reader opens
                openedDuringInspect.set(!inspectDone.get());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        writer.setDaemon(true);
        writer.start();
        while (writer.getState() != Thread.State.RUNNABLE && writer.isAlive()) {
            Thread.onSpinWait(); // the open is a native call: the thread shows as RUNNABLE inside it
        }
        Cli.Result r = Cli.runIn(dir, args);
        inspectDone.set(true);
        // O_RDWR on a FIFO never blocks on Linux and counts as a reader: it releases the writer in any case
        try (RandomAccessFile release = new RandomAccessFile(fifo.toFile(), "rw")) {
            writer.join();
        }
        assertThat(openedDuringInspect).as("the FIFO was opened while inspect ran").isFalse();
        return r;
    }

    @Test
    void backingFileFifoAbsoluteAndRelative() throws Exception {
        Path fifo = dir.resolve("base.fifo");
        Images.qcow2(dir, "abs.qcow2", List.of("-u", "-b", fifo.toString(), "-F", "raw"));
        Images.qcow2(dir, "rel.qcow2", List.of("-u", "-b", "base.fifo", "-F", "qcow2"));
        Images.qcow2(dir, "noformat.qcow2", List.of("-u", "-b", "base.fifo", "-F", "raw"));
        Images.mkfifo(fifo);
        for (String image : new String[] {"abs.qcow2", "rel.qcow2"}) {
            Cli.Result r = inspectWatching(fifo, "inspect", image);
            assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
            assertThat(r.out()).startsWith("backing-file: backing file '").contains("base.fifo");
        }
        Cli.Result r = inspectWatching(fifo, "inspect", "-f", "raw", "rel.qcow2");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.out()).contains("format-mismatch").contains("backing-file");
    }

    @Test
    void dataFileFifo() throws Exception {
        Images.qcow2(dir, "img.qcow2", List.of("-o", "data_file=data.fifo"));
        Files.delete(dir.resolve("data.fifo"));
        Path fifo = Images.mkfifo(dir.resolve("data.fifo"));
        Cli.Result r = inspectWatching(fifo, "inspect", "--output=json", "img.qcow2");
        assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
        assertThat(r.out()).contains("\"rule\": \"data-file\"").contains("'data.fifo'");
    }

    @Test
    void vmdkExtentFifo() throws Exception {
        Path fifo = Images.mkfifo(dir.resolve("extent.fifo"));
        Images.vmdkDescriptor(dir, "img.vmdk", fifo.toString());
        Cli.Result r = inspectWatching(fifo, "inspect", "img.vmdk");
        assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
        assertThat(r.out()).contains("vmdk-extent: extent '" + fifo + "'");
    }

    /**
     * check and map with --no-references (issue 11, part 3): an image whose backing file and data file are both FIFOs;
     * each run watches one of them (an open of the other would block the run, and the timeout fails it).
     */
    @Test
    void checkAndMapWithNoReferencesOpenNeitherBackingNorDataFile() throws Exception {
        Images.qcow2(dir, "img.qcow2", List.of("-o", "data_file=data.fifo"), "write -P 1 0 64k");
        assertThat(Cli.runIn(dir, "rebase", "-u", "-b", "base.fifo", "-F", "raw", "img.qcow2").exitCode()).isZero();
        Files.delete(dir.resolve("data.fifo"));
        Path dataFifo = Images.mkfifo(dir.resolve("data.fifo"));
        Path baseFifo = Images.mkfifo(dir.resolve("base.fifo"));
        for (Path watched : new Path[] {dataFifo, baseFifo}) {
            Cli.Result c = inspectWatching(watched, "check", "--no-references", "img.qcow2");
            assertThat(c.exitCode()).as(c.err()).isZero();
            assertThat(c.out()).startsWith("No errors were found on the image.");
            Cli.Result m = inspectWatching(watched, "map", "--no-references", "img.qcow2");
            assertThat(m.exitCode()).as(m.err()).isZero();
            assertThat(m.out()).isEqualTo("Offset          Length          Mapped to       File\n"
                    + "0               0x10000         0               data.fifo\n");
            Cli.Result j = inspectWatching(watched, "map", "--no-references", "--output=json", "img.qcow2");
            assertThat(j.exitCode()).as(j.err()).isZero();
            assertThat(j.out()).isEqualTo("[{ \"start\": 0, \"length\": 65536, \"depth\": 0, \"present\": true,"
                    + " \"zero\": false, \"data\": true, \"offset\": 0},\n{ \"start\": 65536, \"length\": 16711680,"
                    + " \"depth\": 0, \"present\": false, \"zero\": true, \"data\": false}]\n");
        }
    }

    @Test
    void theFileItselfAFifoIsRefusedWithoutOpeningIt() throws Exception {
        Path fifo = Images.mkfifo(dir.resolve("upload.img"));
        Cli.Result r = inspectWatching(fifo, "inspect", "upload.img");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("is not a regular file");
    }
}
