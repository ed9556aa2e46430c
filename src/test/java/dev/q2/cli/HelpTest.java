package dev.q2.cli;

import dev.q2.testutil.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Every subcommand answers -h and --help with its usage on stdout and exit code 0, as qemu-img's do. */
class HelpTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"create", "info", "check", "map", "convert", "compare", "io", "bench"})
    void subcommandHelp(String command) {
        for (String flag : new String[] {"--help", "-h"}) {
            Cli.Result r = Cli.runIn(dir, command, flag);
            assertThat(r.exitCode()).as(command + " " + flag + ": " + r.err()).isZero();
            assertThat(r.out()).startsWith("Usage: q2 " + command).contains("--help");
            assertThat(r.err()).isEmpty();
        }
    }

    @Test
    void topLevelHelpAndVersionSucceed() {
        Cli.Result help = Cli.runIn(dir, "--help");
        assertThat(help.exitCode()).isZero();
        assertThat(help.out()).startsWith("Usage: q2").contains("convert", "compare");
        Cli.Result version = Cli.runIn(dir, "--version");
        assertThat(version.exitCode()).isZero();
        assertThat(version.out()).isEqualTo("q2 version " + pomVersion() + "\nfollows qemu-img 7.2 (Debian qemu-utils"
                + " 7.2.22)\n");
    }

    /** The project's version as the pom declares it (the first version element after q2's artifactId). */
    private static String pomVersion() {
        try {
            String pom = java.nio.file.Files.readString(java.nio.file.Path.of("pom.xml"));
            java.util.regex.Matcher m = java.util.regex.Pattern
                    .compile("<artifactId>q2</artifactId>\\s*<version>([^<]+)</version>").matcher(pom);
            assertThat(m.find()).as("q2's version in pom.xml").isTrue();
            return m.group(1);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void noCommandOrAnUnknownOneFailsAsQemuImgDoes() {
        Cli.Result none = Cli.runIn(dir);
        assertThat(none.exitCode()).isEqualTo(1);
        assertThat(none.err()).isEqualTo("q2: Not enough arguments\nTry 'q2 --help' for more information\n");
        Cli.Result unknown = Cli.runIn(dir, "frobnicate", "x.qcow2");
        assertThat(unknown.exitCode()).isEqualTo(1);
        assertThat(unknown.err()).isEqualTo("q2: Command not found: frobnicate\nTry 'q2 --help' for more information\n");
        assertThat(unknown.out()).isEmpty();
    }

    @Test
    void theLastOfRepeatedOptionsWinsAsWithQemuImgsGetopt() {
        Cli.Result create = Cli.runIn(dir, "create", "-q", "-o", "cluster_size=4k", "-o", "cluster_size=64k",
                "-q", "img.qcow2", "64M");
        assertThat(create.exitCode()).as(create.err()).isZero();
        Cli.Result info = Cli.runIn(dir, "info", "--output=human", "--output=json", "-U", "-U", "img.qcow2");
        assertThat(info.exitCode()).as(info.err()).isZero();
        assertThat(info.out()).startsWith("{").contains("\"cluster-size\": 65536");
    }
}
