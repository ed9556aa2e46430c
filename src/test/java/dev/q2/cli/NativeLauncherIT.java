package dev.q2.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * ./q2's fast path, target/q2-launch (src/main/native/q2launch.c), against the script it stands in for: for each
 * JVM setting and command, the java command line it execs must be the one ./q2 and launch.sh build with
 * {@code Q2_LAUNCHER=bash}. The JVMs are fake (a script that prints its arguments, and the environment variable
 * that tells whether the script ran), so the test sees the command lines themselves.
 */
class NativeLauncherIT {
    private static final Path CHECKOUT = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    private static final Path LAUNCHER = CHECKOUT.resolve("q2");

    @TempDir
    Path dir;

    record Run(int exitCode, String out) {
    }

    @Test
    void fastPathBuildsTheScriptsCommandLines() throws Exception {
        assumeTrue(Files.isExecutable(CHECKOUT.resolve("target/q2-launch")), "no C compiler: no target/q2-launch");
        Path jdk17 = fakeJdk("jdk-17", "17.0.15");
        Path jdk25 = fakeJdk("jdk-25", "25.0.3");
        Path links = Files.createDirectories(dir.resolve("links"));
        Files.createSymbolicLink(links.resolve("java"), jdk17.resolve("bin/java"));
        Path work = Files.createDirectories(dir.resolve("work"));
        Files.write(work.resolve("small.qcow2"), new byte[512]);
        try (RandomAccessFile big = new RandomAccessFile(work.resolve("big.raw").toFile(), "rw")) {
            big.setLength(300L << 20); // sparse: over the launcher's 256 MiB line for C2
        }
        // the start-up archives the launcher would have made for these JDKs (it cannot make them with a fake java)
        Path startup = Files.createDirectories(CHECKOUT.resolve("target/startup"));
        List<Path> archives = new ArrayList<>(List.of(startup.resolve("q2" + jdk17.toString().replace('/', '_') + ".jsa"),
                startup.resolve("q2" + jdk25.toString().replace('/', '_') + ".aot")));
        for (String own : List.of("info", "check", "map", "compare", "convert", "create")) { // JDK 25: one per command
            archives.add(startup.resolve("q2" + jdk25.toString().replace('/', '_') + "-" + own + ".aot"));
        }
        try {
            for (Path a : archives) {
                Files.write(a, new byte[1]);
            }
            List<Map<String, String>> settings = List.of(
                    Map.of("Q2_JAVA", jdk17.resolve("bin/java").toString()),
                    Map.of("Q2_JAVA", jdk25.resolve("bin/java").toString()),
                    Map.of("Q2_JAVA", links.resolve("java").toString()),
                    Map.of("JAVA_HOME", jdk25.toString()),
                    Map.of("Q2_JAVA", jdk17.resolve("bin/java").toString(), "Q2_CDS", "0"),
                    Map.of("Q2_JAVA", jdk25.resolve("bin/java").toString(), "Q2_JAVA_OPTS", " -Xmx1g\t-Dq2.x=y "),
                    Map.of("Q2_JAVA", "java", "PATH", links + ":/usr/bin:/bin"));
            String[][] commands = {
                {"info", "small.qcow2"}, {"check", "small.qcow2"}, {"check", "big.raw"}, {"map", "big.raw"},
                {"convert", "-O", "raw", "big.raw", "out.raw"}, {"dd", "if=big.raw", "of=out.raw"},
                {"rebase", "-b", "x", "small.qcow2"}, {"bench", "small.qcow2"}, {"--version"}, {},
                {"compare", "small.qcow2", "big.raw"}, {"snapshot", "-l", "big.raw"}, {"create", "x.qcow2", "1T"},
                // a LUKS key: C2 for PBKDF2
                {"create", "--object", "secret,id=s,data=p", "-o", "encrypt.format=luks,encrypt.key-secret=s",
                    "x.qcow2", "1M"},
                {"io", "--image-opts", "driver=qcow2,file.filename=small.qcow2,encrypt.key-secret=s", "-c", "read 0 1"},
            };
            int fast = 0;
            for (Map<String, String> env : settings) {
                for (String[] args : commands) {
                    q2(work, env, false, args); // the first run with a JVM: the script records its home
                    Run fastRun = q2(work, env, false, args);
                    Run script = q2(work, env, true, args);
                    String what = env + " " + String.join(" ", args);
                    assertThat(script.out()).as(what).startsWith("launcher=bash\n");
                    assertThat(strip(fastRun.out())).as(what).isEqualTo(strip(script.out()));
                    assertThat(fastRun.exitCode()).as(what).isEqualTo(script.exitCode());
                    if (fastRun.out().startsWith("launcher=\n")) {
                        fast++;
                    }
                }
            }
            assertThat(fast).as("runs the fast path took itself").isEqualTo(settings.size() * commands.length);
            // what the fast path leaves to the script: an option a shell would expand
            Map<String, String> pattern = Map.of("Q2_JAVA", jdk25.resolve("bin/java").toString(),
                    "Q2_JAVA_OPTS", "-Dq2.x=*");
            Run fastRun = q2(work, pattern, false, "info", "small.qcow2");
            assertThat(fastRun.out()).startsWith("launcher=bash\n");
            assertThat(fastRun.out()).isEqualTo(q2(work, pattern, true, "info", "small.qcow2").out());
        } finally {
            for (Path a : archives) {
                Files.deleteIfExists(a);
            }
            for (Path java : List.of(jdk17.resolve("bin/java"), jdk25.resolve("bin/java"), links.resolve("java"))) {
                Files.deleteIfExists(startup.resolve("java-home" + java.toString().replace('/', '_')));
            }
        }
    }

    private static String strip(String out) {
        return out.substring(out.indexOf('\n') + 1);
    }

    /** A JDK home whose bin/java prints the variable Q2_LAUNCHER and then its arguments, one a line. */
    private Path fakeJdk(String name, String version) throws IOException {
        Path home = Files.createDirectories(dir.resolve(name).resolve("bin")).getParent();
        Path java = home.resolve("bin/java");
        Files.writeString(java, "#!/bin/sh\nprintf 'launcher=%s\\n' \"$Q2_LAUNCHER\"\n"
                + "for a in \"$0\" \"$@\"; do printf '%s\\n' \"$a\"; done\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(home.resolve("release"), "IMPLEMENTOR=\"test\"\nJAVA_VERSION=\"" + version + "\"\n");
        return home;
    }

    private Run q2(Path cwd, Map<String, String> env, boolean script, String... args)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(LAUNCHER.toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile())
                .redirectOutput(dir.resolve(".out").toFile()).redirectError(dir.resolve(".err").toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("Q2_") || k.equals("JAVA_HOME"));
        pb.environment().putAll(env);
        if (script) {
            pb.environment().put("Q2_LAUNCHER", "bash");
        }
        Process p = pb.start();
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("./q2 " + String.join(" ", args) + " did not finish");
        }
        return new Run(p.exitValue(), Files.readString(dir.resolve(".out"), StandardCharsets.UTF_8));
    }
}
