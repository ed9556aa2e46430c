package dev.q2.map;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Fixtures;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * q2 map against qemu-img map's outputs for every fixture image: stdout byte for byte, the same exit code, and the
 * same error message (with q2's prefix) for JSON and human output.
 */
class MapFixtureTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "map {0}")
    @MethodSource("dev.q2.testutil.Fixtures#caseNames")
    void matchesQemuImg(String name) throws Exception {
        Path fixture = Fixtures.caseDir(name);
        Fixtures.unpack(fixture, dir);
        String rc = Fixtures.read(fixture.resolve("map.rc")).strip();
        for (String format : new String[] {"json", "txt"}) {
            Cli.Result r = format.equals("json")
                    ? Cli.runIn(dir, "map", "--output=json", "img.qcow2")
                    : Cli.runIn(dir, "map", "img.qcow2");
            String key = format.equals("json") ? "json" : "human";
            assertThat(r.out()).as("stdout of map --output=%s", key)
                    .isEqualTo(Fixtures.read(fixture.resolve("map." + format)));
            assertThat(rc).contains(key + "=" + r.exitCode());
            String qemuErr = Fixtures.read(fixture.resolve("map." + format + ".err"));
            assertThat(r.err().replace("q2: ", "")).as("stderr of map --output=%s", key)
                    .isEqualTo(qemuErr.replace("qemu-img: ", ""));
        }
    }
}
