package dev.q2.chain;

import dev.q2.testutil.Qemu;
import dev.q2.testutil.TwoFolders;

import java.io.IOException;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Backing chains built with qemu-img and qemu-io for the rebase and commit tests, and helpers to compare them. */
final class Chains {
    private Chains() {
    }

    /** Two levels, 64 KiB clusters, a zero write and data in the top. */
    static final String SIMPLE = "qemu-img create -f qcow2 base.qcow2 4M"
            + " && qemu-io -c 'write -P 1 0 1M' -c 'write -P 2 3M 100k' base.qcow2"
            + " && qemu-img create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2"
            + " && qemu-io -c 'write -P 3 512k 4k' -c 'write -z 3M 8k' top.qcow2"
            + " && qemu-img create -f qcow2 new.qcow2 4M"
            + " && qemu-io -c 'write -P 1 0 256k' -c 'write -P 5 2M 1000k' new.qcow2";

    /**
     * Three levels: a raw base, a 4 KiB-cluster middle with a compressed cluster, an extended-L2 128 KiB-cluster top
     * larger than the rest with an internal snapshot; a 16 KiB-cluster new backing file smaller than the top.
     */
    static final String MIXED = "qemu-img create -f raw base.raw 5M"
            + " && qemu-io -f raw -c 'write -P 1 0 1M' -c 'write -P 2 3M 100k' base.raw"
            + " && qemu-img create -f qcow2 -o cluster_size=4k -b base.raw -F raw mid.qcow2"
            + " && qemu-io -c 'write -P 7 100k 300k' -c 'write -c -P 8 2M 4k' mid.qcow2"
            + " && qemu-img create -f qcow2 -o extended_l2=on,cluster_size=128k -b mid.qcow2 -F qcow2 top.qcow2 8M"
            + " && qemu-io -c 'write -P 3 512k 4k' -c 'write -z 3M 8k' -c 'write -P 4 6M 70k' top.qcow2"
            + " && qemu-img create -f qcow2 -o cluster_size=16k new.qcow2 3M"
            + " && qemu-io -c 'write -P 1 0 256k' -c 'write -P 5 2M 1000k' new.qcow2"
            + " && qemu-img snapshot -c s1 top.qcow2 && qemu-io -c 'write -P 9 0 64k' top.qcow2";

    /**
     * In a subfolder: a 1 GiB base, a version 2 middle, a 2 GiB top with lazy refcounts, a persistent bitmap and a
     * compressed cluster (committing it grows the middle's L1 table).
     */
    static final String SUBFOLDER = "mkdir sub && qemu-img create -f qcow2 sub/base.qcow2 1G"
            + " && qemu-io -c 'write -P 1 0 1M' -c 'write -P 2 900M 100k' sub/base.qcow2"
            + " && qemu-img create -f qcow2 -o compat=0.10 -b base.qcow2 -F qcow2 sub/mid.qcow2"
            + " && qemu-io -c 'write -P 7 100k 300k' sub/mid.qcow2"
            + " && qemu-img create -f qcow2 -o lazy_refcounts=on -b mid.qcow2 -F qcow2 sub/top.qcow2 2G"
            + " && qemu-img bitmap --add sub/top.qcow2 b0"
            + " && qemu-io -c 'write -P 3 512k 4k' -c 'write -z 3M 8k' -c 'write -P 4 1500M 70k'"
            + " -c 'write -c -P 6 10M 64k' sub/top.qcow2"
            + " && qemu-img create -f qcow2 sub/new.qcow2 1G"
            + " && qemu-io -c 'write -P 1 0 256k' -c 'write -P 5 2M 1000k' sub/new.qcow2";

    /** SIMPLE, copies of its images in sub/ and a raw file r.raw: the inputs of the refusal cases. */
    static final String REFUSALS = SIMPLE + " && mkdir sub && cp top.qcow2 base.qcow2 new.qcow2 sub/"
            + " && qemu-img create -q -f raw r.raw 1M";

    /**
     * Builds {@code chain} once in {@code dir}/q and copies it to {@code dir}/o (snapshots carry the time they were
     * taken), runs qemu-img in the one and q2 in the other with {@code args}: the same exit code, stdout and stderr,
     * and every file byte for byte afterwards but those named in {@code except}.
     */
    static TwoFolders sameAsQemuImg(Path dir, String chain, String[] args, String... except)
            throws IOException, InterruptedException {
        TwoFolders both = TwoFolders.in(dir).buildOnce(chain);
        both.runBoth(args);
        both.sameFiles(except);
        return both;
    }

    /**
     * Every image (every file but raw ones named *.raw) reads the same guest data in both folders (each over its
     * own chain), and is clean for qemu-img check.
     */
    static void sameGuestData(TwoFolders both) throws IOException {
        Path q = both.qemu();
        Path j = both.q2();
        for (Path f : TwoFolders.files(q)) {
            String name = f.toString();
            if (!name.endsWith(".qcow2")) {
                continue;
            }
            Qemu.Result c = Qemu.img(q.getParent(), "compare", q.getFileName() + "/" + name,
                    j.getFileName() + "/" + name);
            assertThat(c.exitCode()).as(name + ": " + c.out() + c.err()).isZero();
            Qemu.Result check = Qemu.img(j, "check", name);
            assertThat(check.exitCode()).as(name + ": " + check.out() + check.err()).isZero();
        }
    }
}
