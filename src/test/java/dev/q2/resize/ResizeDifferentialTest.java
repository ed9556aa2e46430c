package dev.q2.resize;

import dev.q2.testutil.InPlaceDifferentialTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;

/**
 * q2 resize against qemu-img resize: an image made by qemu-img/qemu-io commands and copied to a second folder, then
 * resized by each; same exit code, stdout, stderr, and every file byte for byte afterwards (the image, its data file,
 * its backing file), and qemu-img check clean on q2's result.
 */
@Tag("qemu")
class ResizeDifferentialTest extends InPlaceDifferentialTest {
    ResizeDifferentialTest() {
        super("resize");
    }

    private static final String DATA = "qemu-img create -q -f qcow2 img.qcow2 2G && qemu-io -c 'write -P 0xaa 0 64k'"
            + " -c 'write -P 0xbb 1536M 128k' -c 'write -P 0xcc 1G 64k' img.qcow2";

    @Test
    void growAndShrinkAnEmptyImage() throws Exception {
        for (String size : List.of("2G", "+1G", "1T", "100T", "1P", "1G", "1073742336", "+0")) {
            same(PLAIN, "img.qcow2", size);
        }
        same(PLAIN, "--shrink", "img.qcow2", "512M");
        same(PLAIN, "--shrink", "img.qcow2", "1000000512");
        same(PLAIN, "-q", "img.qcow2", "3G");
    }

    @Test
    void refusalsInQemuImgsWords() throws Exception {
        same(PLAIN, "img.qcow2", "-1G");              // the size is taken before the options
        same(PLAIN, "img.qcow2", "--", "-2G");
        same(PLAIN, "img.qcow2", "512M");             // shrinking needs --shrink
        same(PLAIN, "img.qcow2", "8000P");            // past the largest L1 table
        same(PLAIN, "img.qcow2", "9E");               // wraps to a negative size
        same(PLAIN, "img.qcow2", "abc");
        same(PLAIN, "img.qcow2", "1073741825");       // not a multiple of 512
        same(PLAIN, "--preallocation=foo", "img.qcow2", "2G");
        same(PLAIN, "--shrink", "--preallocation=full", "img.qcow2", "512M");
        same(PLAIN, "--preallocation=metadata", "img.qcow2", "1G");
        same(PLAIN, "img.qcow2");
        same(PLAIN, "-q", "img.qcow2");
        same(PLAIN, "-f", "img.qcow2", "1G");
        same(PLAIN, "-f", "vmdk", "img.qcow2", "2G");
        same(PLAIN, "-f", "foo", "img.qcow2", "2G");
        same("true", "missing.qcow2", "1G");
        same("qemu-img create -q -f qcow2 -o compat=0.10 img.qcow2 1G && qemu-img snapshot -c s img.qcow2",
                "img.qcow2", "2G");
    }

    @Test
    void shrinkDiscardsWhatLiesPastTheNewEnd() throws Exception {
        for (String size : List.of("1G", "1536M", "1537M", "1600M", "100M")) {
            same(DATA, "--shrink", "img.qcow2", size);
        }
        same(DATA, "img.qcow2", "5G");
    }

    @Test
    void snapshotsAndCompressedClusters() throws Exception {
        String snap = "qemu-img create -q -f qcow2 img.qcow2 2G && qemu-io -c 'write -P 0xaa 0 64k'"
                + " -c 'write -P 0xbb 1536M 128k' img.qcow2 && qemu-img snapshot -c s1 img.qcow2"
                + " && qemu-io -c 'write -P 0xcc 1536M 64k' -c 'write -c -P 0xdd 1600M 64k' img.qcow2";
        same(snap, "--shrink", "img.qcow2", "1G");
        same(snap, "--shrink", "img.qcow2", "1600M");
        same(snap, "img.qcow2", "300G");
    }

    @Test
    void extendedL2V2AndRefcountWidths() throws Exception {
        String ext = "qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=128k img.qcow2 2G && qemu-io"
                + " -c 'write -P 0xaa 0 4k' -c 'write -P 0xbb 1536M 128k' -c 'write -z 1700M 64k' img.qcow2";
        same(ext, "--shrink", "img.qcow2", "1600M");
        same(ext, "img.qcow2", "3G");
        same(ext, "--preallocation=metadata", "img.qcow2", "2500M");
        same(ext, "--preallocation=full", "img.qcow2", "2100M");
        String v2 = "qemu-img create -q -f qcow2 -o compat=0.10,cluster_size=4k img.qcow2 200M && qemu-io"
                + " -c 'write -P 0xaa 0 4k' -c 'write -P 0xbb 150M 1M' img.qcow2";
        same(v2, "--shrink", "img.qcow2", "100M");
        same(v2, "img.qcow2", "10G");
        same(v2, "--preallocation=metadata", "img.qcow2", "300M");
        for (String bits : List.of("1", "64")) {
            String rc = "qemu-img create -q -f qcow2 -o refcount_bits=" + bits + ",cluster_size=512 img.qcow2 20M"
                    + " && qemu-io -c 'write -P 0xaa 0 4k' -c 'write -P 0xbb 15M 1M' img.qcow2";
            same(rc, "--shrink", "img.qcow2", "10M");
            same(rc, "img.qcow2", "10G");
            same(rc, "--preallocation=falloc", "img.qcow2", "30M");
        }
    }

    @Test
    void backingFilesDataFilesAndBitmaps() throws Exception {
        String longer = "qemu-img create -q -f qcow2 base.qcow2 2G && qemu-io -c 'write -P 0x11 1G 64k' -c 'write -P 0x11 2147418112 64k' base.qcow2"
                + " && qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 img.qcow2 1G"
                + " && qemu-io -c 'write -P 0x22 0 64k' img.qcow2";
        same(longer, "img.qcow2", "3G");        // the area the backing file covers is zeroed
        same(longer, "--preallocation=metadata", "img.qcow2", "2G");
        same(longer, "--shrink", "img.qcow2", "512M");
        same("qemu-img create -q -f qcow2 base.qcow2 2G && qemu-img create -q -f qcow2 -o compat=0.10"
                + " -b base.qcow2 -F qcow2 img.qcow2 1G", "img.qcow2", "2G"); // v2 cannot zero: refused
        same("qemu-img create -q -f qcow2 base.qcow2 2G && qemu-img create -q -f qcow2 -o extended_l2=on"
                + " -b base.qcow2 -F qcow2 img.qcow2 1G", "img.qcow2", "2G");
        String data = "qemu-img create -q -f qcow2 -o data_file=img.data img.qcow2 1G"
                + " && qemu-io -c 'write -P 0x22 0 64k' img.qcow2";
        same(data, "img.qcow2", "2G");
        same(data, "--shrink", "img.qcow2", "512M");
        same(data, "--preallocation=metadata", "img.qcow2", "2G");
        same(data.replace("data_file=img.data", "data_file=img.data,data_file_raw=on"), "img.qcow2", "2G");
        String bitmaps = "qemu-img create -q -f qcow2 img.qcow2 1G && qemu-img bitmap --add img.qcow2 bm0"
                + " && qemu-img bitmap --add -g 512k img.qcow2 bm1 && qemu-io -c 'write 0 64k' -c 'write 900M 1M'"
                + " img.qcow2";
        same(bitmaps, "img.qcow2", "2G");
        same(bitmaps, "--shrink", "img.qcow2", "950M");
        same(bitmaps, "img.qcow2", "+0");
    }

    @Test
    void rawFiles() throws Exception {
        String raw = "truncate -s 1000 img.qcow2";
        same(raw, "img.qcow2", "2G"); // probed: qemu-img's warning
        same(raw, "-f", "raw", "img.qcow2", "+0");
        same(raw, "--shrink", "-f", "raw", "img.qcow2", "512");
        same(raw, "-f", "raw", "--preallocation=metadata", "img.qcow2", "1G");
        same(raw, "-f", "raw", "--preallocation=full", "img.qcow2", "1M");
        same(raw, "-f", "raw", "--preallocation=falloc", "img.qcow2", "1M");
        same(raw, "-f", "raw", "img.qcow2", "100");
    }
}
