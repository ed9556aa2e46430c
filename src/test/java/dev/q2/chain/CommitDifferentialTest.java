package dev.q2.chain;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import dev.q2.testutil.TwoFolders;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * q2 commit against qemu-img commit on copies of the same chains: the same exit code, stdout and stderr; every file
 * but the base byte for byte (the emptied top included); the base, which qemu-img writes in parallel so that its
 * layout varies, by the guest data of every image of the chain and a clean qemu-img check.
 */
@Tag("qemu")
class CommitDifferentialTest extends QemuTest {
    static Stream<Arguments> cases() {
        return Stream.of(
                arguments(Chains.SIMPLE, "base.qcow2", new String[] {"commit", "top.qcow2"}),
                arguments(Chains.SIMPLE, "base.qcow2", new String[] {"commit", "-d", "top.qcow2"}),
                arguments(Chains.SIMPLE, "base.qcow2", new String[] {"commit", "-q", "-t", "unsafe", "-r", "1M",
                    "top.qcow2"}),
                // snapshot in the top: emptied by discarding every cluster; larger than the middle, which grows
                arguments(Chains.MIXED, "mid.qcow2", new String[] {"commit", "top.qcow2"}),
                arguments(Chains.MIXED, "base.raw", new String[] {"commit", "-b", "base.raw", "top.qcow2"}),
                arguments(Chains.MIXED, "base.raw", new String[] {"commit", "mid.qcow2"}),
                // bitmap and lazy refcounts in the top; the version 2 middle's L1 table grows
                arguments(Chains.SUBFOLDER, "sub/mid.qcow2", new String[] {"commit", "sub/top.qcow2"}),
                arguments(Chains.SUBFOLDER, "sub/base.qcow2", new String[] {"commit", "sub/mid.qcow2"}),
                arguments(Chains.SUBFOLDER, "sub/base.qcow2", new String[] {"commit", "-b", "base.qcow2",
                    "sub/top.qcow2"}));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void sameTopSameGuestData(String chain, String base, String[] args) throws Exception {
        Chains.sameGuestData(Chains.sameAsQemuImg(dir, chain, args, base));
    }

    /**
     * -p: qemu-img prints 0% and 100% a number of times that depends on its job's timing, and values between them
     * for larger jobs; q2 prints 0% twice (open, start of the copy), its own steps, and 100% twice.
     */
    @Test
    void progressStartsAtZeroAndEndsAtHundred() throws Exception {
        TwoFolders both = TwoFolders.in(dir).buildOnce(Chains.SIMPLE);
        Qemu.Result want = Qemu.img(both.qemu(), "commit", "-p", "top.qcow2");
        Cli.Result got = Cli.runIn(both.q2(), "commit", "-p", "top.qcow2");
        assertThat(got.exitCode()).isEqualTo(want.exitCode()).isZero();
        String line = "    \\(\\d+\\.\\d\\d/100%\\)\r";
        for (String out : new String[] {want.out(), got.out()}) {
            assertThat(out).startsWith("    (0.00/100%)\r").endsWith("    (100.00/100%)\r\nImage committed.\n");
        }
        assertThat(got.out().replaceAll(line, "")).isEqualTo(want.out().replaceAll(line, ""));
        both.sameFiles("base.qcow2");
        Chains.sameGuestData(both);
    }

    static Stream<Arguments> refusals() {
        return Stream.of(
                arguments((Object) new String[] {"commit", "base.qcow2"}),
                arguments((Object) new String[] {"commit", "-b", "nope", "top.qcow2"}),
                arguments((Object) new String[] {"commit", "-b", "sub/base.qcow2", "sub/top.qcow2"}),
                arguments((Object) new String[] {"commit", "-r", "x", "top.qcow2"}),
                arguments((Object) new String[] {"commit", "-r", "-1", "top.qcow2"}),
                arguments((Object) new String[] {"commit", "-t", "bad", "top.qcow2"}),
                arguments((Object) new String[] {"commit", "-f", "foo", "top.qcow2"}),
                arguments((Object) new String[] {"commit", "nothere.qcow2"}),
                arguments((Object) new String[] {"commit"}),
                arguments((Object) new String[] {"commit", "top.qcow2", "base.qcow2"}),
                arguments((Object) new String[] {"commit", "-f", "raw", "r.raw"}));
    }

    @ParameterizedTest
    @MethodSource("refusals")
    void refusesAsQemuImg(String[] args) throws Exception {
        Chains.sameAsQemuImg(dir, Chains.REFUSALS, args);
    }
}
