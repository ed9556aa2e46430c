package dev.q2.cli;

import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/**
 * Build step, not a command: writes q2's man pages (troff) and shell completion from the command line's own picocli
 * model, so that they list exactly the options {@code --help} lists. Run by Maven at prepare-package with the output
 * folder as argument; it writes {@code man1/q2.1}, {@code man1/q2-COMMAND.1} (and {@code .gz} copies, as Debian
 * installs them), {@code bash-completion/q2} and {@code zsh/_q2}.
 *
 * <p>What the model does not hold (exit codes, examples) is kept here, one entry per command, next to the rule that
 * every command has one: {@link #main} fails the build when a command lacks it.
 */
public final class ManPages {
    private record Extra(String[] exitCodes, String[] examples) {
    }

    private static final String[] OK = {"0", "success", "1", "an error (a message on stderr says which)"};

    /** Exit codes (code, meaning pairs) and examples (command, what it does pairs) of each command. */
    private static final Map<String, Extra> EXTRAS = merge(Map.of(
            CreateCommand.NAME, new Extra(OK, new String[] {
                "q2 create -o extended_l2=on,cluster_size=128k img.qcow2 1T",
                "a 1 TiB image with extended L2 entries (32 subclusters of 4 KiB per cluster)",
                "q2 create -b base.qcow2 -F qcow2 overlay.qcow2", "an overlay over base.qcow2"}),
            InfoCommand.NAME, new Extra(OK, new String[] {
                "q2 info img.qcow2", "qemu-img's report, then the L2 cache the image needs and the settings for it",
                "q2 info --output=json --backing-chain overlay.qcow2", "every image of the chain, as JSON"}),
            CheckCommand.NAME, new Extra(new String[] {
                "0", "no errors (or all repaired)", "1", "the check could not be completed",
                "2", "the image is corrupt", "3", "clusters are leaked (no corruption)",
                "63", "the image format does not support checks"}, new String[] {
                "q2 check img.qcow2", "report corruptions and leaks, as qemu-img check",
                "q2 check -r all img.qcow2", "repair leaks and corruptions",
                "q2 check --no-references upload.qcow2",
                "check an untrusted image's metadata, opening nothing it names (no backing or data file)"}),
            MapCommand.NAME, new Extra(OK, new String[] {
                "q2 map --output=json img.qcow2", "where every range of the guest disk lives",
                "q2 map --no-references upload.qcow2",
                "the image's own layer only, opening nothing it names (as qemu-img with \"backing\": null)"}),
            ConvertCommand.NAME, new Extra(OK, new String[] {
                "q2 convert -O raw img.qcow2 disk.raw", "the guest disk as a sparse raw file",
                "q2 convert -c -O qcow2 -o compression_type=zstd disk.raw img.qcow2", "a compressed qcow2 image"}),
            CompareCommand.NAME, new Extra(new String[] {
                "0", "the images have the same guest contents", "1", "they differ",
                "2", "an image could not be opened", "3", "block status failed (corrupt metadata)",
                "4", "a read failed"}, new String[] {
                "q2 compare a.qcow2 b.raw", "compare guest contents, whatever the formats"}),
            IoCommand.NAME, new Extra(OK, new String[] {
                "q2 io -c 'write -P 0xab 0 64k' -c 'read -P 0xab 0 64k' img.qcow2",
                "write a pattern and read it back",
                "q2 io -r -c map -c 'read -v 0 64' img.qcow2",
                "what the image itself allocates, and a hex dump of its first 64 bytes"}),
            BenchCommand.NAME, new Extra(OK, new String[] {
                "q2 bench --rw=read --pattern=random --count=100000 img.qcow2",
                "random 4 KiB reads: L2 cache hits and misses"}),
            MeasureCommand.NAME, new Extra(OK, new String[] {
                "q2 measure -O qcow2 --size 1T -o cluster_size=128k",
                "file sizes of a new 1 TiB image, and the L2 cache it will need",
                "q2 measure -O qcow2 --output=json disk.raw", "what converting disk.raw to qcow2 will take"})), Map.of(
            SnapshotCommand.NAME, new Extra(OK, new String[] {
                "q2 snapshot -c before-upgrade img.qcow2", "take an internal snapshot named before-upgrade",
                "q2 snapshot -l img.qcow2", "list the snapshots, as qemu-img snapshot -l",
                "q2 snapshot -a before-upgrade img.qcow2", "return the disk to the snapshot"}),
            InspectCommand.NAME, new Extra(new String[] {
                "0", "the image is safe to hand to QEMU as a stand-alone disk",
                "1", "the file could not be read at all", "2", "unsafe: every finding is listed"}, new String[] {
                "q2 inspect -f qcow2 upload.img", "the upload gate: exit 0 only for a qcow2 image that names no file",
                "q2 inspect --output=json upload.img", "the format, sizes and every finding, as JSON"}),
            BitmapCommand.NAME, new Extra(OK, new String[] {
                "q2 bitmap --add img.qcow2 b0", "a new enabled bitmap b0, granularity from the cluster size",
                "q2 bitmap --disable --merge b0 -b other.qcow2 img.qcow2 b1",
                "disable b1 of img.qcow2, then set in it every bit set in b0 of other.qcow2"}),
            DdCommand.NAME, new Extra(OK, new String[] {
                "q2 dd -O qcow2 bs=1M count=64 if=disk.raw of=head.qcow2",
                "the first 64 MiB of disk.raw as a new qcow2 image"}),
            ResizeCommand.NAME, new Extra(OK, new String[] {
                "q2 resize img.qcow2 +10G", "grow the disk by 10 GiB",
                "q2 resize --shrink img.qcow2 20G", "shrink it to 20 GiB (data past the new end is lost)"}),
            AmendCommand.NAME, new Extra(OK, new String[] {
                "q2 amend -o compat=0.10 img.qcow2", "downgrade to a version 2 image for old QEMUs",
                "q2 amend -o refcount_bits=64 img.qcow2", "rebuild the refcount structures with 64-bit refcounts"}),
            RebaseCommand.NAME, new Extra(OK, new String[] {
                "q2 rebase -b new.qcow2 -F qcow2 overlay.qcow2",
                "put overlay.qcow2 on top of new.qcow2, copying what differs so its guest data stays the same",
                "q2 rebase -u -b moved/base.qcow2 -F qcow2 overlay.qcow2",
                "only change the name of the backing file (it moved)",
                "q2 rebase -b '' overlay.qcow2", "copy the whole chain into overlay.qcow2 and drop its backing file"}),
            CommitCommand.NAME, new Extra(OK, new String[] {
                "q2 commit overlay.qcow2", "write the overlay's data into its backing file, then empty the overlay",
                "q2 commit -b base.qcow2 top.qcow2", "commit down to base.qcow2, further down the chain"})));

    private ManPages() {
    }

    /** Map.of takes at most ten entries: the commands come in two maps (the second: those added since session 4). */
    private static Map<String, Extra> merge(Map<String, Extra> a, Map<String, Extra> b) {
        Map<String, Extra> all = new java.util.HashMap<>(a);
        all.putAll(b);
        return Map.copyOf(all);
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            throw new IllegalArgumentException("usage: ManPages OUTPUT_FOLDER VERSION");
        }
        Path out = Path.of(args[0]);
        String version = args[1];
        CommandLine top = Main.fullCommandLine();
        Path man = Files.createDirectories(out.resolve("man1"));
        write(man.resolve("q2.1"), topPage(top.getCommandSpec(), version));
        for (Map.Entry<String, CommandLine> e : top.getSubcommands().entrySet()) {
            Extra extra = EXTRAS.get(e.getKey());
            if (extra == null) {
                throw new IllegalStateException("no exit codes and examples for q2 " + e.getKey() + " in ManPages");
            }
            write(man.resolve("q2-" + e.getKey() + ".1"), commandPage(e.getValue().getCommandSpec(), extra, version));
        }
        String bash = AutoComplete.bash("q2", top);
        write(Files.createDirectories(out.resolve("bash-completion")).resolve("q2"), bash);
        // zsh runs the same script through its bash-completion emulation (the script enables it itself)
        write(Files.createDirectories(out.resolve("zsh")).resolve("_q2"), "#compdef q2\n" + bash);
    }

    private static void write(Path file, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        Files.write(file, bytes);
        if (file.getFileName().toString().endsWith(".1")) {
            try (OutputStream gz = new GZIPOutputStream(Files.newOutputStream(file.resolveSibling(file.getFileName()
                    + ".gz")))) {
                gz.write(bytes);
            }
        }
    }

    private static String topPage(CommandSpec spec, String version) {
        StringBuilder b = header("q2", "qcow2 disk-image toolkit, compatible with qemu-img", version);
        b.append(".SH SYNOPSIS\n.B q2\n\\fICOMMAND\\fR [\\fIOPTIONS\\fR] \\fIFILE\\fR ...\n");
        b.append(".SH DESCRIPTION\n").append(roff("q2 creates, inspects, checks, maps, converts and compares qcow2"
                + " disk images. Where it does what qemu-img 7.2 does, it writes the same files and prints the same"
                + " output; q2 info also reports the L2 cache an image needs, and q2 bench measures what the cache"
                + " and extended L2 subclusters buy.")).append('\n');
        b.append(".SH COMMANDS\n");
        for (CommandSpec sub : spec.subcommands().values().stream().map(CommandLine::getCommandSpec).toList()) {
            b.append(".TP\n\\fBq2 ").append(sub.name()).append("\\fR(1)\n")
                    .append(roff(String.join(" ", sub.usageMessage().description()))).append('\n');
        }
        options(b, spec.options());
        b.append(".SH EXIT STATUS\n").append(roff("0 on success, 1 on an error; check and compare have more codes,"
                + " listed on their pages.")).append('\n');
        b.append(".SH EXAMPLES\n");
        example(b, "q2 create -o extended_l2=on,cluster_size=128k img.qcow2 1T && q2 info img.qcow2",
                "create a 1 TiB image and show the L2 cache it needs");
        seeAlso(b, spec);
        return b.toString();
    }

    private static String commandPage(CommandSpec spec, Extra extra, String version) {
        String name = "q2-" + spec.name();
        StringBuilder b = header(name, String.join(" ", spec.usageMessage().description()), version);
        b.append(".SH SYNOPSIS\n.B q2 ").append(spec.name()).append('\n');
        List<String> synopsis = new ArrayList<>();
        for (OptionSpec o : spec.options()) {
            synopsis.add("[\\fB" + roff(o.shortestName()) + "\\fR" + param(o) + "]");
        }
        for (PositionalParamSpec p : spec.positionalParameters()) {
            String label = "\\fI" + roff(p.paramLabel()) + "\\fR";
            synopsis.add(p.arity().min() == 0 ? "[" + label + "]" : label);
        }
        b.append(String.join(" ", synopsis)).append('\n');
        b.append(".SH DESCRIPTION\n").append(roff(String.join(" ", spec.usageMessage().description()))).append(
                ". See the README and docs/compatibility.md of q2 for what matches qemu-img and what differs.\n");
        options(b, spec.options());
        if (!spec.positionalParameters().isEmpty()) {
            b.append(".SH ARGUMENTS\n");
            for (PositionalParamSpec p : spec.positionalParameters()) {
                b.append(".TP\n\\fI").append(roff(p.paramLabel())).append("\\fR\n")
                        .append(roff(String.join(" ", p.description()))).append('\n');
            }
        }
        b.append(".SH EXIT STATUS\n");
        for (int i = 0; i < extra.exitCodes().length; i += 2) {
            b.append(".TP\n.B ").append(extra.exitCodes()[i]).append('\n').append(roff(extra.exitCodes()[i + 1]))
                    .append('\n');
        }
        b.append(".SH EXAMPLES\n");
        for (int i = 0; i < extra.examples().length; i += 2) {
            example(b, extra.examples()[i], extra.examples()[i + 1]);
        }
        seeAlso(b, spec);
        return b.toString();
    }

    private static StringBuilder header(String name, String summary, String version) {
        StringBuilder b = new StringBuilder();
        b.append(".\\\" Generated by dev.q2.cli.ManPages from q2's command line model; do not edit.\n");
        b.append(".TH ").append(name.toUpperCase(java.util.Locale.ROOT)).append(" 1 \"\" \"q2 ").append(version)
                .append("\" \"q2 manual\"\n");
        b.append(".SH NAME\n").append(roff(name)).append(" \\- ").append(roff(summary)).append('\n');
        return b;
    }

    private static void options(StringBuilder b, List<OptionSpec> options) {
        if (options.isEmpty()) {
            return;
        }
        b.append(".SH OPTIONS\n");
        for (OptionSpec o : options) {
            List<String> names = new ArrayList<>();
            for (String n : o.names()) {
                names.add("\\fB" + roff(n) + "\\fR");
            }
            b.append(".TP\n").append(String.join(", ", names)).append(param(o)).append('\n')
                    .append(roff(String.join(" ", o.description()))).append('\n');
        }
    }

    private static String param(OptionSpec o) {
        if (o.arity().max() == 0) {
            return "";
        }
        return " \\fI" + roff(o.paramLabel()) + "\\fR";
    }

    private static void example(StringBuilder b, String command, String what) {
        b.append(".TP\n.B ").append(roff(command)).append('\n').append(roff(what)).append('\n');
    }

    private static void seeAlso(StringBuilder b, CommandSpec spec) {
        b.append(".SH SEE ALSO\n");
        List<String> refs = new ArrayList<>();
        if (spec.parent() != null) {
            refs.add("\\fBq2\\fR(1)");
        }
        refs.add("\\fBqemu-img\\fR(1)");
        if (spec.name().equals(IoCommand.NAME)) {
            refs.add("\\fBqemu-io\\fR(1)");
        }
        b.append(String.join(", ", refs)).append('\n');
    }

    /** Text as troff reads it literally: backslashes doubled, hyphens as minus signs, no control line starts. */
    private static String roff(String text) {
        String t = text.replace("\\", "\\e").replace("-", "\\-");
        if (t.startsWith(".") || t.startsWith("'")) {
            t = "\\&" + t;
        }
        return t.replace("\n.", "\n\\&.").replace("\n'", "\n\\&'");
    }
}
