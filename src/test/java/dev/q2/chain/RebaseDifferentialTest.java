package dev.q2.chain;

import dev.q2.testutil.QemuTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * q2 rebase against qemu-img rebase on copies of the same chains: the same exit code, stdout and stderr, and every
 * file byte for byte afterwards (qemu-img rebase copies in order, so its files are deterministic).
 */
@Tag("qemu")
class RebaseDifferentialTest extends QemuTest {
    static Stream<Arguments> cases() {
        return Stream.of(
                arguments(Chains.SIMPLE, new String[] {"rebase", "-b", "new.qcow2", "-F", "qcow2", "top.qcow2"}),
                arguments(Chains.SIMPLE, new String[] {"rebase", "-b", "", "top.qcow2"}),
                arguments(Chains.SIMPLE, new String[] {"rebase", "-b", "", "-F", "qcow2", "top.qcow2"}),
                arguments(Chains.SIMPLE, new String[] {"rebase", "-u", "-b", "new.qcow2", "-F", "qcow2",
                    "top.qcow2"}),
                arguments(Chains.SIMPLE, new String[] {"rebase", "-u", "top.qcow2"}),
                // no -F: the data is copied first, then the header change is refused
                arguments(Chains.SIMPLE, new String[] {"rebase", "-b", "new.qcow2", "top.qcow2"}),
                arguments(Chains.SIMPLE, new String[] {"rebase", "-u", "-b", "zz", "top.qcow2"}),
                arguments(Chains.SIMPLE, new String[] {"rebase", "-p", "-b", "new.qcow2", "-F", "qcow2",
                    "top.qcow2"}),
                arguments(Chains.SIMPLE, new String[] {"rebase", "-q", "-p", "-t", "unsafe", "-T", "none", "-b",
                    "new.qcow2", "-F", "qcow2", "top.qcow2"}),
                arguments(Chains.SIMPLE, new String[] {"rebase", "-b", "new.qcow2", "-F", "qcow2", "new.qcow2"}),
                arguments(Chains.MIXED, new String[] {"rebase", "-b", "new.qcow2", "-F", "qcow2", "top.qcow2"}),
                arguments(Chains.MIXED, new String[] {"rebase", "-b", "base.raw", "-F", "raw", "top.qcow2"}),
                arguments(Chains.MIXED, new String[] {"rebase", "-b", "", "top.qcow2"}),
                arguments(Chains.MIXED, new String[] {"rebase", "-b", "mid.qcow2", "-F", "qcow2", "top.qcow2"}),
                arguments(Chains.MIXED, new String[] {"rebase", "-b", "new.qcow2", "-F", "qcow2", "mid.qcow2"}),
                arguments(Chains.MIXED, new String[] {"rebase", "-p", "-b", "", "top.qcow2"}),
                // the new name is relative to the image's folder
                arguments(Chains.SUBFOLDER, new String[] {"rebase", "-b", "new.qcow2", "-F", "qcow2",
                    "sub/top.qcow2"}),
                arguments(Chains.SUBFOLDER, new String[] {"rebase", "-b", "base.qcow2", "-F", "qcow2",
                    "sub/top.qcow2"}),
                arguments(Chains.SUBFOLDER, new String[] {"rebase", "-b", "", "sub/mid.qcow2"}),
                arguments(Chains.SUBFOLDER, new String[] {"rebase", "-p", "-b", "new.qcow2", "-F", "qcow2",
                    "sub/top.qcow2"}),
                arguments(Chains.SUBFOLDER, new String[] {"rebase", "-u", "-b", "../x", "-F", "raw",
                    "sub/top.qcow2"}));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void sameFilesAndOutput(String chain, String[] args) throws Exception {
        Chains.sameAsQemuImg(dir, chain, args);
    }

    /** The old backing file is gone: safe mode cannot open the image; -u repairs the name. */
    @ParameterizedTest
    @MethodSource("missingOldBacking")
    void missingOldBackingFile(String[] args) throws Exception {
        Chains.sameAsQemuImg(dir, "qemu-img create -f qcow2 base.qcow2 4M && qemu-img create -f qcow2 -b base.qcow2"
                + " -F qcow2 top.qcow2 && rm base.qcow2 && qemu-img create -f qcow2 new.qcow2 4M", args);
    }

    static Stream<Arguments> missingOldBacking() {
        return Stream.of(
                arguments((Object) new String[] {"rebase", "-b", "new.qcow2", "-F", "qcow2", "top.qcow2"}),
                arguments((Object) new String[] {"rebase", "-u", "-b", "new.qcow2", "-F", "qcow2", "top.qcow2"}));
    }

    static Stream<Arguments> refusals() {
        return Stream.of(
                arguments((Object) new String[] {"rebase", "top.qcow2"}),
                arguments((Object) new String[] {"rebase", "-b", "new.qcow2"}),
                arguments((Object) new String[] {"rebase", "-b", "new.qcow2", "top.qcow2", "new.qcow2"}),
                arguments((Object) new String[] {"rebase", "-b", "nothere", "-F", "qcow2", "top.qcow2"}),
                // relative to the image's folder, not the working folder
                arguments((Object) new String[] {"rebase", "-b", "sub/new.qcow2", "-F", "qcow2", "sub/top.qcow2"}),
                arguments((Object) new String[] {"rebase", "-b", "new.qcow2", "-F", "foo", "top.qcow2"}),
                arguments((Object) new String[] {"rebase", "-t", "foo", "-b", "new.qcow2", "-F", "qcow2",
                    "top.qcow2"}),
                arguments((Object) new String[] {"rebase", "-T", "foo", "-b", "new.qcow2", "-F", "qcow2",
                    "top.qcow2"}),
                arguments((Object) new String[] {"rebase", "-b", "new.qcow2", "-F", "qcow2", "nothere.qcow2"}),
                arguments((Object) new String[] {"rebase", "-f", "foo", "-b", "new.qcow2", "-F", "qcow2",
                    "top.qcow2"}),
                arguments((Object) new String[] {"rebase", "-b", "new.qcow2", "-F", "qcow2", "r.raw"}),
                arguments((Object) new String[] {"rebase", "-f", "raw", "-u", "-b", "new.qcow2", "-F", "qcow2",
                    "r.raw"}),
                arguments((Object) new String[] {"rebase", "-u", "-b", "x".repeat(1024), "-F", "qcow2",
                    "top.qcow2"}));
    }

    @ParameterizedTest
    @MethodSource("refusals")
    void refusesAsQemuImg(String[] args) throws Exception {
        Chains.sameAsQemuImg(dir, Chains.REFUSALS, args);
    }
}
