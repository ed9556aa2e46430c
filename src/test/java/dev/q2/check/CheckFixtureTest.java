package dev.q2.check;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Fixtures;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * q2 check against qemu-img check's outputs for every fixture image: the same exit code, the same JSON text, the
 * same human summary, and the same stderr lines (with "qemu-img:" as "q2:").
 */
class CheckFixtureTest {
    @TempDir
    Path dir;

    static List<String> cases() {
        return Fixtures.caseNames();
    }

    private static int rc(Path fixture, String which) {
        Matcher m = Pattern.compile(which + "=(\\d+)").matcher(Fixtures.read(fixture.resolve("check.rc")));
        assertThat(m.find()).isTrue();
        return Integer.parseInt(m.group(1));
    }

    private static String expectedErr(Path fixture, String file) {
        return Fixtures.read(fixture.resolve(file)).replace("qemu-img: ", "q2: ");
    }

    @ParameterizedTest(name = "check --output=json {0}")
    @MethodSource("cases")
    void jsonMatchesQemuImg(String name) throws Exception {
        Path fixture = Fixtures.caseDir(name);
        Fixtures.unpack(fixture, dir);
        Cli.Result r = Cli.runIn(dir, "check", "--output=json", "img.qcow2");
        assertThat(r.out()).isEqualTo(Fixtures.read(fixture.resolve("check.json")));
        assertThat(r.err()).isEqualTo(expectedErr(fixture, "check.json.err"));
        assertThat(r.exitCode()).isEqualTo(rc(fixture, "json"));
    }

    @ParameterizedTest(name = "check {0}")
    @MethodSource("cases")
    void humanMatchesQemuImg(String name) throws Exception {
        Path fixture = Fixtures.caseDir(name);
        Fixtures.unpack(fixture, dir);
        Cli.Result r = Cli.runIn(dir, "check", "img.qcow2");
        assertThat(r.out()).isEqualTo(Fixtures.read(fixture.resolve("check.txt")));
        assertThat(r.err()).isEqualTo(expectedErr(fixture, "check.txt.err"));
        assertThat(r.exitCode()).isEqualTo(rc(fixture, "human"));
    }
}
