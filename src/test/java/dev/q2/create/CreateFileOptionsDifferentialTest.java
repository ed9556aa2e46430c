package dev.q2.create;

import dev.q2.testutil.Qemu;
import dev.q2.testutil.TwoFolders;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/**
 * The file protocol's create options that qemu-img create takes beside qcow2's (iotest 243): {@code extent_size_hint}
 * and {@code nocow}, listed last in the "Formatting" line, without effect on this file system, and a hint past 32
 * bits refused before the file is made. Same output, exit code and files as qemu-img.
 */
@Tag("qemu")
class CreateFileOptionsDifferentialTest {
    @TempDir
    Path tmp;

    @Test
    void extentSizeHintAndNocowAsQemuImgTakesThem() throws Exception {
        Qemu.assumeAvailable();
        for (String o : new String[] {"extent_size_hint=0", "preallocation=metadata,extent_size_hint=0",
            "extent_size_hint=1M,nocow=on", "nocow=off,extent_size_hint=4k", "extent_size_hint=5G",
            "extent_size_hint=4294967295"}) {
            TwoFolders.sameInNewFolders(tmp, "create", "-f", "qcow2", "-o", o, "t.qcow2", "64M");
        }
    }
}
