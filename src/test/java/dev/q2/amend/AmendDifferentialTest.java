package dev.q2.amend;

import dev.q2.testutil.InPlaceDifferentialTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;

/**
 * q2 amend against qemu-img amend: an image made by qemu-img/qemu-io commands and copied to a second folder, then
 * amended by each; same exit code, stdout (the -p progress lines included), stderr, and every file byte for byte.
 */
@Tag("qemu")
class AmendDifferentialTest extends InPlaceDifferentialTest {
    AmendDifferentialTest() {
        super("amend");
    }

    private static final String ZEROS = "qemu-img create -q -f qcow2 img.qcow2 1G && qemu-io -c 'write -P 0xaa 0 64k'"
            + " -c 'write -z 1M 128k' -c 'write -P 0xbb 2M 64k' -c 'write -z 2M 64k' img.qcow2";

    @Test
    void refusalsAndHelp() throws Exception {
        same(PLAIN, "-o", "help", "img.qcow2");
        same(PLAIN, "-f", "qcow2", "-o", "help");
        same(PLAIN, "img.qcow2");
        same(PLAIN, "-o", "compat=0.10", "a", "b");
        same(PLAIN, "-t", "foo", "-o", "compat=0.10", "img.qcow2");
        same(PLAIN, "-t", "off", "-o", "lazy_refcounts=on", "img.qcow2"); // "off" is one of qemu-img's modes
        for (String o : List.of("cluster_size=4k", "extended_l2=on", "preallocation=full", "encrypt.format=luks",
                "foo=1", "compat=0.9", "lazy_refcounts=maybe", "backing_file=x", "data_file=x", "data_file_raw=on",
                "refcount_bits=3", "compat=0.10,refcount_bits=8", "compat=0.10,lazy_refcounts=on",
                "encrypt.new-secret=x", "refcount_bits=16", "size=abc")) {
            same(PLAIN, "-o", o, "img.qcow2");
        }
        same("qemu-img create -q -f qcow2 -o compression_type=zstd img.qcow2 1G && qemu-io -c 'write -c 0 64k'"
                + " img.qcow2", "-o", "compat=0.10", "img.qcow2");
        same("qemu-img create -q -f qcow2 -o extended_l2=on img.qcow2 1G", "-o", "compat=0.10", "img.qcow2");
        same("qemu-img create -q -f qcow2 -o refcount_bits=8 img.qcow2 1G", "-o", "compat=0.10", "img.qcow2");
        same("qemu-img create -q -f qcow2 -o data_file=img.data img.qcow2 1G", "-o", "compat=0.10", "img.qcow2");
        same("truncate -s 1M img.qcow2", "-o", "size=2M", "img.qcow2");
        same("truncate -s 1M img.qcow2", "-f", "raw", "-o", "help");
        same("true", "-f", "foo", "-o", "help");
    }

    @Test
    void compatBothWays() throws Exception {
        same(PLAIN, "-o", "compat=0.10", "img.qcow2");
        same(PLAIN, "-p", "-o", "compat=0.10", "img.qcow2");
        same(ZEROS, "-o", "compat=0.10", "img.qcow2");
        same(ZEROS, "-p", "-o", "compat=0.10", "img.qcow2");
        same("qemu-img create -q -f qcow2 base.qcow2 1G && qemu-io -c 'write -P 0x11 0 4M' base.qcow2"
                + " && qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 img.qcow2 && qemu-io -c 'write -z 1M 128k'"
                + " -c 'write -P 0xbb 2M 64k' -c 'write -z 2M 64k' img.qcow2", "-o", "compat=0.10", "img.qcow2");
        String snap = "qemu-img create -q -f qcow2 img.qcow2 1G && qemu-io -c 'write -P 0xaa 0 64k'"
                + " -c 'write -z 1M 128k' img.qcow2 && qemu-img snapshot -c s1 img.qcow2"
                + " && qemu-io -c 'write -z 3M 64k' -c 'write -z 0 64k' img.qcow2";
        same(snap, "-p", "-o", "compat=0.10", "img.qcow2");
        same("qemu-img create -q -f qcow2 base.qcow2 1G && qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2"
                + " img.qcow2 && qemu-io -c 'write -z 1M 128k' img.qcow2 && qemu-img snapshot -c s1 img.qcow2"
                + " && qemu-io -c 'write -z 3M 64k' img.qcow2", "-p", "-o", "compat=0.10", "img.qcow2");
        same("qemu-img create -q -f qcow2 -o compression_type=zstd img.qcow2 1G", "-o", "compat=0.10", "img.qcow2");
        String v2 = "qemu-img create -q -f qcow2 -o compat=0.10 img.qcow2 1G && qemu-io -c 'write -P 0xaa 0 64k'"
                + " img.qcow2 && qemu-img snapshot -c s1 img.qcow2";
        same(v2, "-o", "compat=1.1", "img.qcow2");
        same(v2, "-p", "-o", "compat=v3,lazy_refcounts=on", "img.qcow2");
        same(v2, "-o", "compat=v2", "img.qcow2");
    }

    /**
     * compat=0.10 with a snapshot whose L1 table QEMU refuses (iotest 080): the active tables are expanded, then
     * qcow2_validate_table's line and "Failed to turn zero into data clusters" with its errno.
     */
    @Test
    void downgradeRefusesInvalidSnapshotL1Tables() throws Exception {
        String snap = "qemu-img create -q -f qcow2 img.qcow2 64M && qemu-io -c 'write -z 0 64k' -c 'write 1M 512'"
                + " img.qcow2 && qemu-img snapshot -c test img.qcow2 && python3 -c \"import struct; f ="
                + " open('img.qcow2', 'r+b'); f.seek(64); t = struct.unpack('>Q', f.read(8))[0]; f.seek(t + %s);"
                + " f.write(struct.pack('%s', %s))\"";
        same(String.format(snap, 0, ">Q", "0x400200"), "-o", "compat=0.10", "img.qcow2");
        same(String.format(snap, 8, ">I", "0x10000000"), "-o", "compat=0.10", "img.qcow2");
    }

    @Test
    void refcountWidths() throws Exception {
        String data = "qemu-img create -q -f qcow2 img.qcow2 2G && qemu-io -c 'write -P 0xaa 0 64k'"
                + " -c 'write -P 0xbb 1536M 128k' -c 'write -c -P 0xcc 1G 64k' img.qcow2"
                + " && qemu-img snapshot -c s img.qcow2";
        for (String bits : List.of("1", "2", "4", "8", "32", "64")) {
            same(PLAIN, "-o", "refcount_bits=" + bits, "img.qcow2");
            same(data, "-p", "-o", "refcount_bits=" + bits, "img.qcow2"); // 1: a refcount of 2 is refused
        }
        // small clusters: the walks allocate new refcount blocks that grow the old table as they go
        String small = "qemu-img create -q -f qcow2 -o cluster_size=512 img.qcow2 64M"
                + " && qemu-io -c 'write -P 0xaa 0 4M' img.qcow2";
        for (String bits : List.of("1", "8", "64")) {
            same(small, "-p", "-o", "refcount_bits=" + bits, "img.qcow2");
        }
        String wide = "qemu-img create -q -f qcow2 -o refcount_bits=64,cluster_size=4k img.qcow2 64M"
                + " && qemu-io -c 'write -P 0xaa 0 4M' img.qcow2 && qemu-img snapshot -c a img.qcow2";
        same(wide, "-p", "-o", "refcount_bits=4", "img.qcow2");
        same(wide, "-o", "refcount_bits=16,compat=0.10", "img.qcow2");
        same("qemu-img create -q -f qcow2 -o compat=0.10 img.qcow2 1G", "-p", "-o", "compat=1.1,refcount_bits=1",
                "img.qcow2");
    }

    @Test
    void otherOptions() throws Exception {
        same(PLAIN, "-o", "lazy_refcounts=on", "img.qcow2");
        same(PLAIN, "-p", "-o", "lazy_refcounts=on", "img.qcow2");
        same(PLAIN, "-o", "size=2G", "img.qcow2");
        same(PLAIN, "-o", "size=512M", "img.qcow2");
        same("qemu-img create -q -f qcow2 -o lazy_refcounts=on img.qcow2 1G", "-o", "lazy_refcounts=off",
                "img.qcow2");
        String backing = "qemu-img create -q -f qcow2 base.qcow2 1G && qemu-img create -q -f qcow2 -b base.qcow2"
                + " -F qcow2 img.qcow2";
        same(backing, "-o", "backing_file=base.qcow2,backing_fmt=qcow2", "img.qcow2");
        same(backing, "-o", "backing_file=base.qcow2", "img.qcow2");
        same(backing, "-o", "size=2G", "img.qcow2");
        String data = "qemu-img create -q -f qcow2 -o data_file=img.data img.qcow2 1G";
        same(data, "-o", "data_file=other.data", "img.qcow2");
        same(data, "-o", "data_file_raw=off", "img.qcow2");
        // the name cleared while the user names the data file (iotest 061): the image reloaded without one
        same(data + " && qemu-img amend -o data_file=foo img.qcow2", "-o", "data_file=", "--image-opts",
                "data-file.filename=img.data,file.filename=img.qcow2");
        same("qemu-img create -q -f qcow2 -o data_file=img.data,data_file_raw=on img.qcow2 1G", "-o",
                "data_file_raw=off", "img.qcow2");
        String bitmaps = "qemu-img create -q -f qcow2 img.qcow2 1G && qemu-img bitmap --add img.qcow2 bm0"
                + " && qemu-io -c 'write 0 64k' img.qcow2";
        same(bitmaps, "-o", "lazy_refcounts=on", "img.qcow2");
        same(bitmaps, "-o", "compat=0.10", "img.qcow2");
        same(bitmaps, "-o", "size=2G", "img.qcow2");
        same(bitmaps, "-o", "refcount_bits=64", "img.qcow2");
        same(bitmaps, "-o", "refcount_bits=1", "img.qcow2");
        same("qemu-img create -q -f qcow2 -o data_file=img.data img.qcow2 1G && qemu-img bitmap --add img.qcow2 bm0"
                + " && qemu-io -c 'write 0 64k' img.qcow2", "-o", "data_file=other.data", "img.qcow2");
    }
}
