package dev.q2.chain;

import dev.q2.io.ImageFile;
import dev.q2.testutil.Cli;
import dev.q2.testutil.Qemu;
import dev.q2.testutil.QemuTest;
import dev.q2.testutil.TwoFolders;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * Crash ordering of q2 rebase and q2 commit: every file of the chain is copied at every sync point (after each
 * fsync, as a crash there would leave them). In every copy, {@code qemu-img check -r all} repairs every image to a
 * clean one, and the image rebased or committed reads the guest data it read before (rebase copies what it needs
 * before it changes the header; commit writes the base only where the image above holds the data, and empties the
 * image only once the base has it).
 */
@Tag("qemu")
class ChainCrashTest extends QemuTest {
    @AfterEach
    void unhook() {
        ImageFile.syncHookForTests(null);
    }

    private List<Path> runWithCrashCopies(Path work, String... args) {
        List<Path> crashes = new ArrayList<>();
        ImageFile.syncHookForTests(p -> {
            Path copy = dir.resolve("crash" + crashes.size());
            try {
                TwoFolders.copyTree(work, copy);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            crashes.add(copy);
        });
        Cli.Result r;
        try {
            r = Cli.runIn(work, args);
        } finally {
            ImageFile.syncHookForTests(null);
        }
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        return crashes;
    }

    private void assertRecovers(List<Path> crashes, String image, Path before) {
        for (Path crash : crashes) {
            for (Path f : filesOf(crash)) {
                if (f.toString().endsWith(".qcow2")) {
                    Qemu.Result fix = Qemu.img(crash, "check", "-r", "all", f.toString());
                    assertThat(fix.exitCode()).as(crash + "/" + f + ": " + fix.out() + fix.err()).isZero();
                    ok(Qemu.img(crash, "check", f.toString()));
                }
            }
            Qemu.Result same = Qemu.img(crash, "compare", "-F", "raw", image, before.toString());
            assertThat(same.exitCode()).as(crash + ": " + same.out() + same.err()).isZero();
        }
    }

    private static List<Path> filesOf(Path d) {
        try {
            return TwoFolders.files(d);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Stream<Arguments> operations() {
        return Stream.of(
                arguments("rebase", Chains.MIXED, 3,
                        new String[] {"rebase", "-b", "new.qcow2", "-F", "qcow2", "top.qcow2"}),
                arguments("flatten", Chains.SIMPLE, 3, new String[] {"rebase", "-b", "", "top.qcow2"}),
                // the base grows (new L1 table), the top is emptied completely
                arguments("commit", "qemu-img create -f qcow2 -o cluster_size=4k base.qcow2 1M"
                        + " && qemu-io -c 'write -P 1 0 512k' base.qcow2"
                        + " && qemu-img create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2 8M"
                        + " && qemu-io -c 'write -P 3 100k 300k' -c 'write -z 0 8k' -c 'write -P 4 6M 70k' top.qcow2",
                        5, new String[] {"commit", "top.qcow2"}),
                // the top is emptied by discarding every cluster
                arguments("commit with snapshot", Chains.MIXED, 3, new String[] {"commit", "top.qcow2"}));
    }

    @ParameterizedTest(name = "{0} keeps guest data at every sync point")
    @MethodSource("operations")
    void keepsGuestDataAtEverySyncPoint(String operation, String chain, int minCrashes, String[] args)
            throws Exception {
        Path work = dir.resolve("work");
        TwoFolders.sh(work, chain);
        Path before = dir.resolve("before.raw");
        ok(Qemu.img(work, "convert", "-O", "raw", "top.qcow2", before.toString()));
        List<Path> crashes = runWithCrashCopies(work, args);
        assertThat(crashes).hasSizeGreaterThanOrEqualTo(minCrashes);
        assertRecovers(crashes, "top.qcow2", before);
    }
}
