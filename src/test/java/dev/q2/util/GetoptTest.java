package dev.q2.util;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The getopt_long rules q2 bitmap and q2 dd read their arguments with (qemu-img's). */
class GetoptTest {
    private static final Map<String, String[]> LONGS = Map.of("add", new String[] {"0", "add"},
            "merge", new String[] {"1", "merge"}, "granularity", new String[] {"1", "g"},
            "disable", new String[] {"0", "disable"});

    private static Getopt parse(String... args) {
        return Getopt.parse(List.of(args), "b:f:g:h", LONGS);
    }

    @Test
    void optionsKeepTheirOrderAndOperandsMayComeAnywhere() {
        Getopt g = parse("img", "--add", "--merge", "src", "-fqcow2", "--granularity=8k", "b", "-g", "1k");
        assertThat(g.options).containsExactly(new Getopt.Opt("add", null), new Getopt.Opt("merge", "src"),
                new Getopt.Opt("f", "qcow2"), new Getopt.Opt("g", "8k"), new Getopt.Opt("g", "1k"));
        assertThat(g.operands).containsExactly("img", "b");
    }

    @Test
    void uniquePrefixesOfLongOptions() {
        assertThat(parse("--ad", "--dis").options).extracting(Getopt.Opt::key).containsExactly("add", "disable");
    }

    @Test
    void doubleDashEndsTheOptions() {
        Getopt g = parse("--add", "--", "-x", "--merge");
        assertThat(g.options).containsExactly(new Getopt.Opt("add", null));
        assertThat(g.operands).containsExactly("-x", "--merge");
    }

    @Test
    void errorsInQemuImgsWordsAfterTheOptionsBeforeThem() {
        Getopt g = parse("-g", "x", "--disabled", "--add");
        assertThat(g.options).containsExactly(new Getopt.Opt("g", "x"),
                new Getopt.Opt(Getopt.ERROR, "unrecognized option '--disabled'"));
        assertThat(parse("--merge").options).containsExactly(
                new Getopt.Opt(Getopt.ERROR, "missing argument for option '--merge'"));
        assertThat(parse("-g").options).containsExactly(
                new Getopt.Opt(Getopt.ERROR, "missing argument for option '-g'"));
        assertThat(parse("-x").options).containsExactly(new Getopt.Opt(Getopt.ERROR, "unrecognized option '-x'"));
        assertThat(parse("--add=1").options).containsExactly(
                new Getopt.Opt(Getopt.ERROR, "unrecognized option '--add=1'"));
    }
}
