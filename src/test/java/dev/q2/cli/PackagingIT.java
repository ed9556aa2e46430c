package dev.q2.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What {@code mvn package} ships besides the jar: the tarball (run from another folder through a symbolic link, as
 * a user who put it on PATH would), its man pages and completion (made from the command line's model, so every
 * option of every command is on its page), and the .deb's contents and dependencies.
 */
class PackagingIT {
    private static final Path TARGET = Path.of(System.getProperty("user.dir")).resolve("target").toAbsolutePath();
    private static final String VERSION = Version.projectVersion();

    @TempDir
    Path dir;

    record Run(int exitCode, String out, String err) {
    }

    @Test
    void tarballRunsFromAnyFolderThroughALink() throws Exception {
        Path tarball = TARGET.resolve("q2-" + VERSION + ".tar.gz");
        assertThat(tarball).exists();
        Path unpacked = Files.createDirectories(dir.resolve("opt"));
        assertThat(run(dir, "tar", "xzf", tarball.toString(), "-C", unpacked.toString()).exitCode()).isZero();
        Path home = unpacked.resolve("q2-" + VERSION);
        for (String f : new String[] {"bin/q2", "lib/q2.jar", "lib/launch.sh", "share/man/man1/q2.1",
            "share/bash-completion/completions/q2", "share/zsh/site-functions/_q2", "README.md", "LICENSE"}) {
            assertThat(home.resolve(f)).as(f).exists();
        }
        Path link = Files.createSymbolicLink(Files.createDirectories(dir.resolve("bin")).resolve("q2"),
                home.resolve("bin/q2"));
        Path work = Files.createDirectories(dir.resolve("work"));
        Run version = run(work, link.toString(), "--version");
        assertThat(version.exitCode()).as(version.err()).isZero();
        assertThat(version.out()).startsWith("q2 version " + VERSION + "\n");
        Run create = run(work, link.toString(), "create", "-q", "img.qcow2", "1G");
        assertThat(create.exitCode()).as(create.err()).isZero();
        Run check = run(work, link.toString(), "check", "img.qcow2");
        assertThat(check.exitCode()).as(check.err()).isZero();
        assertThat(check.out()).startsWith("No errors were found on the image.");
        // the start-up archive went to the user's cache, not next to the installed files
        try (var files = Files.walk(dir.resolve("cache"))) {
            assertThat(files.anyMatch(p -> p.toString().endsWith(".aot") || p.toString().endsWith(".jsa"))).isTrue();
        }
    }

    @Test
    void everyCommandHasAManPageListingEveryOption() throws Exception {
        CommandLine top = Main.fullCommandLine();
        assertThat(top.getSubcommands()).isNotEmpty();
        for (Map.Entry<String, CommandLine> e : top.getSubcommands().entrySet()) {
            Path page = TARGET.resolve("share/man1/q2-" + e.getKey() + ".1");
            String text = Files.readString(page);
            assertThat(text).as(page.toString()).contains(".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION",
                    ".SH OPTIONS", ".SH EXIT STATUS", ".SH EXAMPLES", "q2 " + VERSION);
            for (OptionSpec o : e.getValue().getCommandSpec().options()) {
                assertThat(text).as(page + " lists " + o.longestName())
                        .contains("\\fB" + o.longestName().replace("-", "\\-") + "\\fR");
            }
            assertThat(Files.readString(TARGET.resolve("share/bash-completion/q2"))).contains(e.getKey());
        }
        Path man = Path.of("/usr/bin/man");
        if (Files.isExecutable(man)) {
            Run rendered = run(dir, man.toString(), "-l", TARGET.resolve("share/man1/q2-check.1").toString());
            assertThat(rendered.exitCode()).as(rendered.err()).isZero();
            assertThat(rendered.out()).contains("EXIT STATUS", "the image is corrupt");
        }
    }

    @Test
    void debInstallsTheCommandManPagesAndCompletion() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/dpkg-deb")), "dpkg-deb is not installed");
        Path deb;
        try (var files = Files.list(TARGET)) {
            deb = files.filter(p -> p.getFileName().toString().matches("q2_.*_all\\.deb")).findFirst().orElseThrow();
        }
        Run info = run(dir, "dpkg-deb", "-f", deb.toString(), "Package", "Architecture", "Depends");
        assertThat(info.out()).contains("Package: q2", "Architecture: all",
                "Depends: default-jre-headless (>= 2:1.17) | java17-runtime-headless");
        Run contents = run(dir, "dpkg-deb", "-c", deb.toString());
        assertThat(contents.out()).contains("./usr/bin/q2 -> /usr/share/q2/bin/q2", "./usr/share/q2/lib/q2.jar",
                "./usr/share/man/man1/q2.1.gz", "./usr/share/man/man1/q2-convert.1.gz",
                "./usr/share/bash-completion/completions/q2", "./usr/share/zsh/vendor-completions/_q2");
    }

    private Run run(Path cwd, String... cmd) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(List.of(cmd))).directory(cwd.toFile())
                .redirectOutput(dir.resolve(".out").toFile()).redirectError(dir.resolve(".err").toFile());
        pb.environment().put("XDG_CACHE_HOME", dir.resolve("cache").toString());
        pb.environment().put("MANWIDTH", "100");
        Process p = pb.start();
        // the first run of an unpacked q2 records its start-up archive (a warm-up of every command)
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", cmd) + " did not finish");
        }
        return new Run(p.exitValue(), Files.readString(dir.resolve(".out"), StandardCharsets.UTF_8),
                Files.readString(dir.resolve(".err"), StandardCharsets.UTF_8));
    }
}
