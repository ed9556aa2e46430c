package dev.q2.info;

import dev.q2.testutil.Cli;
import dev.q2.testutil.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TimeZone;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * q2 info against qemu-img info's outputs for every fixture image: the JSON must be qemu-img's text exactly, with
 * q2's "l2-cache" object as the only addition; the human output must be qemu-img's lines followed by the L2 cache
 * section. Fixture outputs were made with TZ=UTC (snapshot dates are local time).
 */
public class InfoFixtureTest {
    private static TimeZone saved;

    @TempDir
    Path dir;

    @BeforeAll
    static void utc() {
        saved = TimeZone.getDefault();
        TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
    }

    @AfterAll
    static void restore() {
        TimeZone.setDefault(saved);
    }

    static List<String> cases() {
        return Fixtures.caseNames();
    }

    private Cli.Result info(String... args) {
        return Cli.runIn(dir, args);
    }

    @ParameterizedTest(name = "info --output=json {0}")
    @MethodSource("cases")
    void jsonMatchesQemuImg(String name) throws Exception {
        Path fixture = Fixtures.caseDir(name);
        Fixtures.unpack(fixture, dir);
        Cli.Result r = info("info", "--output=json", "img.qcow2");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(withoutL2Cache(r.out())).isEqualTo(Fixtures.read(fixture.resolve("info.json")));
        assertThat(r.out()).contains("\"l2-cache\": {");
    }

    @ParameterizedTest(name = "info {0}")
    @MethodSource("cases")
    void humanMatchesQemuImg(String name) throws Exception {
        Path fixture = Fixtures.caseDir(name);
        Fixtures.unpack(fixture, dir);
        Cli.Result r = info("info", "img.qcow2");
        assertThat(r.exitCode()).as(r.err()).isZero();
        int l2 = r.out().indexOf("L2 cache:\n");
        assertThat(l2).isPositive();
        assertThat(r.out().substring(0, l2)).isEqualTo(Fixtures.read(fixture.resolve("info.txt")));
    }

    @ParameterizedTest(name = "info --backing-chain {0}")
    @MethodSource("cases")
    void backingChainMatchesQemuImg(String name) throws Exception {
        Path fixture = Fixtures.caseDir(name);
        if (!Files.exists(fixture.resolve("info-chain.json"))) {
            return;
        }
        Fixtures.unpack(fixture, dir);
        Cli.Result json = info("info", "--backing-chain", "--output=json", "img.qcow2");
        assertThat(json.exitCode()).as(json.err()).isZero();
        assertThat(withoutL2Cache(json.out())).isEqualTo(Fixtures.read(fixture.resolve("info-chain.json")));
        Cli.Result human = info("info", "--backing-chain", "img.qcow2");
        assertThat(withoutHumanL2Cache(human.out())).isEqualTo(Fixtures.read(fixture.resolve("info-chain.txt")));
    }

    /** Removes q2's "l2-cache" members (always the last member of an image object). */
    public static String withoutL2Cache(String json) {
        return json.replaceAll(",\\n( *)\"l2-cache\": \\{[^}]*\\n\\1}", "");
    }

    public static String withoutHumanL2Cache(String text) {
        return text.replaceAll("L2 cache:\\n(    .*\\n)+", "");
    }
}
