package dev.q2.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The JNI helper is committed as a binary (so that building q2 needs no C compiler) and must be exactly what its
 * source gives: where the compiler that made it is present, rebuilding gives the same bytes; with another compiler,
 * the same JNI entry points.
 */
class NativeHelperTest {
    private static final Path NATIVE = Path.of("src/main/resources/dev/q2/io/native/linux-amd64");

    @TempDir
    Path dir;

    @Test
    void committedLibraryIsWhatItsSourceBuilds() throws Exception {
        assumeTrue(System.getProperty("os.arch").equals("amd64"), "the committed helper is for x86-64 Linux");
        assumeTrue(run(dir, "sh", "-c", "command -v ${CC:-cc}").startsWith("/"), "no C compiler here");
        assumeTrue(Files.exists(Path.of("/usr/include/zlib.h")), "no zlib headers here (zlib1g-dev)");
        String log = run(dir, "sh", "src/main/native/build.sh", dir.toAbsolutePath().toString());
        Path rebuilt = dir.resolve("linux-amd64/libq2seek.so");
        assertThat(rebuilt).as(log).exists();
        String compiler = Files.readString(NATIVE.resolve("libq2seek.so.cc")).strip();
        String here = Files.readString(dir.resolve("linux-amd64/libq2seek.so.cc")).strip();
        if (here.equals(compiler)) {
            assertThat(Files.readAllBytes(rebuilt)).as("rebuilt with " + compiler)
                    .isEqualTo(Files.readAllBytes(NATIVE.resolve("libq2seek.so")));
        } else {
            assertThat(symbols(rebuilt)).as("JNI entry points (committed one built by " + compiler + ")")
                    .isEqualTo(symbols(NATIVE.resolve("libq2seek.so")));
        }
        assertThat(symbols(rebuilt)).contains("Java_dev_q2_io_NativeFiles_");
    }

    private String symbols(Path lib) throws Exception {
        return run(dir, "sh", "-c", "nm -D --defined-only '" + lib.toAbsolutePath() + "' | awk '{print $3}' | sort");
    }

    private static String run(Path dir, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return out;
    }
}
