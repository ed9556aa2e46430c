package dev.q2.cli;

import dev.q2.inspect.Finding;
import dev.q2.inspect.InspectionReport;
import dev.q2.inspect.Inspector;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

import java.io.PrintWriter;

/**
 * q2 inspect: the gate for untrusted images. Reads the file and nothing it names; exit 0 safe, 2 unsafe, 1 not
 * readable. The rules are in {@link dev.q2.inspect.Rule} and docs/security.md.
 */
final class InspectCommand extends Subcommand {
    static final String NAME = "inspect";
    static final int UNSAFE = 2;

    private final OptionSpec format = Options.value("FMT",
            "The format the image will be given to QEMU as; probed when absent (a different probe is a finding)", "-f");
    private final OptionSpec output = Options.output();
    private final PositionalParamSpec filename = Options.positional("0", "1", "FILE");

    InspectCommand(Main main) {
        super(main, NAME);
        declare("Tell whether an untrusted image is safe to hand to QEMU as a stand-alone disk, reading the file"
                + " and nothing it names", format, output, filename)
                .footer("", "Every problem found is listed, one line each (JSON: \"findings\"). See docs/security.md.");
    }

    @Override
    public Integer call() {
        parsed();
        PrintWriter out = out();
        PrintWriter err = err();
        String outputFormat = output.getValue() == null ? "human" : output.getValue();
        if (!outputFormat.equals("human") && !outputFormat.equals("json")) {
            err.println("q2: --output must be used with human or json as argument.");
            return 1;
        }
        String file = filename.getValue();
        InspectionReport r;
        try {
            r = Inspector.inspect(main.resolve(file), file, format.getValue());
        } catch (Exception e) {
            return Errors.report(err, Errors.imageOpenFailure(file, main.resolve(file), e), e);
        }
        out.print(outputFormat.equals("json") ? json(r) : human(r));
        out.flush();
        return r.safe() ? 0 : UNSAFE;
    }

    static String human(InspectionReport r) {
        StringBuilder b = new StringBuilder();
        for (Finding f : r.findings()) {
            b.append(f.rule()).append(": ").append(f.message()).append('\n');
        }
        b.append(r.safe() ? "safe" : "unsafe").append(": ").append(r.filename()).append(" (").append(r.format())
                .append(r.virtualSize() == null ? "" : ", virtual size " + r.virtualSize()).append(")");
        if (!r.safe()) {
            b.append(", ").append(r.findings().size()).append(r.findings().size() == 1 ? " finding" : " findings");
        }
        return b.append('\n').toString();
    }

    static String json(InspectionReport r) {
        StringBuilder b = new StringBuilder("{\n");
        b.append("    \"filename\": ").append(str(r.filename())).append(",\n");
        b.append("    \"format\": ").append(str(r.format())).append(",\n");
        b.append("    \"virtual-size\": ").append(r.virtualSize() == null ? "null" : r.virtualSize()).append(",\n");
        b.append("    \"actual-size\": ").append(r.actualSize()).append(",\n");
        b.append("    \"safe\": ").append(r.safe()).append(",\n");
        b.append("    \"findings\": [");
        String sep = "\n";
        for (Finding f : r.findings()) {
            b.append(sep).append("        {\n            \"rule\": ").append(str(f.rule()))
                    .append(",\n            \"message\": ").append(str(f.message())).append("\n        }");
            sep = ",\n";
        }
        b.append(r.findings().isEmpty() ? "]\n" : "\n    ]\n");
        return b.append("}\n").toString();
    }

    private static String str(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
