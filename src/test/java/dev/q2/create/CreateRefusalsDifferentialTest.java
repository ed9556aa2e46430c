package dev.q2.create;

import dev.q2.testutil.Qemu;
import dev.q2.testutil.TwoFolders;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Refusals of create that QEMU's iotests 049 and 112 pin, side by side with qemu-img: the size given twice, an
 * empty backing file name, and refcount_bits values that strtoull reads but the driver refuses. Same stdout (the
 * "Formatting" line, when qemu-img prints one), same stderr, same exit code, same files left behind.
 */
@Tag("qemu")
class CreateRefusalsDifferentialTest {
    @TempDir
    Path tmp;

    private void same(String... args) throws Exception {
        List<String> full = new ArrayList<>(List.of("create", "-f", "qcow2"));
        full.addAll(List.of(args));
        TwoFolders.sameInNewFolders(tmp, full.toArray(String[]::new));
    }

    @Test
    void sizeGivenTwiceIsRefused() throws Exception {
        Qemu.assumeAvailable();
        same("-o", "size=10M", "t.qcow2", "20M");
        same("-o", "size=10M", "t.qcow2", "10M");
        same("-o", "size=10M", "t.qcow2", "20E");       // the size argument's own error comes first
        same("-o", "size=10M,bogus=1", "t.qcow2", "20M"); // and the options'
    }

    @Test
    void emptyBackingFileNameIsRefused() throws Exception {
        Qemu.assumeAvailable();
        same("-b", "", "t.qcow2", "20M");
        same("-b", "", "-F", "qcow2", "t.qcow2", "20M");
        same("-o", "backing_file=", "t.qcow2", "20M");
        same("-u", "-b", "", "-F", "qcow2", "t.qcow2", "20M");
    }

    @Test
    void refcountBitsAsQemuReadsThem() throws Exception {
        Qemu.assumeAvailable();
        for (String v : List.of("-1", "-0", "0", "3", "128", "+16", " 16", "0x10", "010", "16abc", "", "16 ",
                "-18446744073709551615", "-18446744073709551616", "99999999999999999999", "18446744073709551615")) {
            same("-o", "refcount_bits=" + v, "t.qcow2", "1M");
        }
        same("-o", "refcount_bits=-1,compat=0.10", "t.qcow2", "1M");
    }
}
