package dev.q2.cli;

import dev.q2.dd.DdCopier;
import dev.q2.util.Getopt;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * q2 dd: qemu-img dd (dev.q2.dd), its options read as its getopt_long reads them and its operands (bs=, count=,
 * if=, of=, skip=) as it reads them, in order, refused in its words.
 */
final class DdCommand extends GetoptCommand {
    static final String NAME = "dd";

    private static final Map<String, String[]> LONGS = Map.of(
            "help", new String[] {"0", "h"},
            "object", new String[] {"1", "object"},
            "image-opts", new String[] {"0", "image-opts"},
            "force-share", new String[] {"0", "U"});

    DdCommand(Main main) {
        super(main, NAME, "hf:O:U", LONGS, "Copy an image's guest data into a new raw or qcow2 image, as qemu-img dd",
                "q2 dd [-U] [-f FMT] [-O OUTPUT_FMT] [bs=BLOCK_SIZE]"
                        + " [count=BLOCKS] [skip=BLOCKS] if=INPUT of=OUTPUT",
                "[-U] [-f FMT] [-O OUTPUT_FMT] [bs=BLOCK_SIZE] [count=BLOCKS] [skip=BLOCKS] if=INPUT"
                    + " of=OUTPUT: copy INPUT's guest data from block skip on (blocks of bs bytes, default 512),"
                    + " limited to its first count blocks, into a new OUTPUT (raw, the default, or qcow2)");
    }

    @Override
    int run(Getopt g, PrintWriter err) {
        String outFmt = "raw";
        String fmt = null;
        boolean forceShare = false;
        boolean imageOpts = false;
        for (Getopt.Opt o : g.options) {
            switch (o.key()) {
                case "image-opts" -> imageOpts = true;
                case "O" -> outFmt = o.arg();
                case "f" -> fmt = o.arg();
                case "U" -> forceShare = true;
                default -> {
                    return sharedOption(o, err);
                }
            }
        }
        int bs = 512;
        long count = -1;
        long skip = -1;
        String in = null;
        String out = null;
        for (String operand : g.operands) {
            int eq = operand.indexOf('=');
            String key = eq < 0 ? operand : operand.substring(0, eq);
            String value = eq < 0 ? null : operand.substring(eq + 1);
            if (value == null) {
                err.println("q2: unrecognized operand " + operand);
                return 1;
            }
            switch (key) {
                case "bs" -> {
                    long v = QemuNumbers.cvtnumFull("bs", value, 1, Integer.MAX_VALUE, err);
                    if (v < 0) {
                        return 1;
                    }
                    bs = (int) v;
                }
                case "count" -> {
                    count = QemuNumbers.cvtnum("count", value, err);
                    if (count < 0) {
                        return 1;
                    }
                }
                case "skip" -> {
                    skip = QemuNumbers.cvtnum("skip", value, err);
                    if (skip < 0) {
                        return 1;
                    }
                }
                case "if" -> in = value;
                case "of" -> out = value;
                default -> {
                    err.println("q2: unrecognized operand " + key);
                    return 1;
                }
            }
        }
        if (in == null || out == null) {
            err.println("q2: Must specify both input and output files");
            return 1;
        }
        dev.q2.block.ImageName inName = ImageNames.plain("dd", in, imageOpts, fmt, false, err);
        if (inName == null) {
            return 1;
        }
        in = inName.filename();
        fmt = inName.format(fmt);
        forceShare |= inName.flag("force-share");
        Path input = main.resolve(in);
        Path output = main.resolve(out);
        if (!outFmt.equals("raw") && !outFmt.equals("qcow2")) {
            // qemu-img checks the output format after opening the input
            String refusal = KNOWN_FORMATS.contains(outFmt)
                    ? "q2 dd writes raw and qcow2 images only, not " + outFmt : "Unknown file format";
            try (dev.q2.image.BlockDevice opened = dev.q2.image.Devices.openRead(input, fmt, forceShare)) {
                err.println("q2: " + refusal);
            } catch (Exception e) {
                err.println("q2: " + Errors.imageOpenFailure(in, input, e));
            }
            return 1;
        }
        try {
            DdCopier.Result r = DdCopier.run(new DdCopier.Request(input, fmt, output, outFmt, bs, count, skip,
                    forceShare));
            if (r.skipPastEnd()) {
                err.println("q2: " + in + ": cannot skip to specified offset");
            }
            return 0;
        } catch (DdCopier.OpenFailure e) {
            if (e.input()) {
                err.println("q2: " + Errors.imageOpenFailure(in, input, e.getCause()));
            } else if (e.getCause() instanceof dev.q2.create.CreateException) {
                err.println("q2: " + out + ": error while creating output image: " + e.getCause().getMessage());
            } else {
                String reason = Files.isDirectory(output) ? "Is a directory" : Errors.describe(e.getCause());
                if (e.getCause() instanceof java.io.FileNotFoundException fnf && fnf.getMessage() != null
                        && fnf.getMessage().endsWith(")") && fnf.getMessage().contains(" (")) {
                    // RandomAccessFile's "NAME (reason)"
                    String m = fnf.getMessage();
                    reason = m.substring(m.lastIndexOf(" (") + 2, m.length() - 1);
                }
                err.println("q2: " + out + ": error while creating output image: Could not create '" + out + "': "
                        + reason);
            }
            return 1;
        } catch (Exception e) {
            return Errors.report(err, Errors.describe(e), e);
        }
    }

    /** Formats qemu-img 7.2 can create that q2 dd cannot write. */
    private static final java.util.Set<String> KNOWN_FORMATS = java.util.Set.of("vmdk", "vdi", "vhdx", "vpc", "qed",
            "qcow", "luks", "parallels", "cloop", "dmg", "bochs", "vvfat", "file", "host_device");
}
