package dev.q2.cli;

import dev.q2.bitmap.BitmapAction;
import dev.q2.bitmap.BitmapEditor;
import dev.q2.bitmap.BitmapOperationException;
import dev.q2.util.Getopt;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * q2 bitmap: qemu-img bitmap's operations on the persistent dirty bitmaps of an image (dev.q2.bitmap), its
 * arguments read as its getopt_long reads them (the actions run in the order given) and refused in its words.
 */
final class BitmapCommand extends GetoptCommand {
    static final String NAME = "bitmap";

    private static final Map<String, String[]> LONGS = Map.ofEntries(
            Map.entry("help", new String[] {"0", "h"}),
            Map.entry("object", new String[] {"1", "object"}),
            Map.entry("image-opts", new String[] {"0", "image-opts"}),
            Map.entry("add", new String[] {"0", "add"}),
            Map.entry("remove", new String[] {"0", "remove"}),
            Map.entry("clear", new String[] {"0", "clear"}),
            Map.entry("enable", new String[] {"0", "enable"}),
            Map.entry("disable", new String[] {"0", "disable"}),
            Map.entry("merge", new String[] {"1", "merge"}),
            Map.entry("granularity", new String[] {"1", "g"}),
            Map.entry("source-file", new String[] {"1", "b"}),
            Map.entry("source-format", new String[] {"1", "F"}));

    BitmapCommand(Main main) {
        super(main, NAME, "b:f:F:g:h", LONGS,
                "Add, remove, clear, enable, disable or merge persistent dirty bitmaps, as qemu-img bitmap",
                "q2 bitmap (--add | --remove | --clear | --enable | --disable | --merge SOURCE)..."
                        + " [-g GRANULARITY] [-b SOURCE_FILE [-F SOURCE_FMT]] [-f FMT] FILE BITMAP",
                "(--add | --remove | --clear | --enable | --disable | --merge SOURCE)... "
                    + "[-g GRANULARITY] [-b SOURCE_FILE [-F SOURCE_FMT]] [-f FMT] FILE BITMAP: the actions run in"
                    + " the order given, on the bitmap BITMAP of FILE; -g sets the granularity of an added bitmap"
                    + " (default: the cluster size, 4 KiB to 64 KiB), -b/-F name the image that --merge reads"
                    + " SOURCE from (default: FILE)");
    }

    @Override
    int run(Getopt g, PrintWriter err) {
        List<BitmapAction> actions = new ArrayList<>();
        String fmt = null;
        String srcFmt = null;
        String srcFile = null;
        long granularity = 0;
        boolean add = false;
        boolean merge = false;
        boolean imageOpts = false;
        for (Getopt.Opt o : g.options) {
            switch (o.key()) {
                case "b" -> srcFile = o.arg();
                case "f" -> fmt = o.arg();
                case "image-opts" -> imageOpts = true;
                case "F" -> srcFmt = o.arg();
                case "g" -> {
                    granularity = QemuNumbers.cvtnum("granularity", o.arg(), err);
                    if (granularity < 0) {
                        return 1;
                    }
                }
                case "add" -> {
                    actions.add(BitmapAction.of(BitmapAction.Kind.ADD));
                    add = true;
                }
                case "remove" -> actions.add(BitmapAction.of(BitmapAction.Kind.REMOVE));
                case "clear" -> actions.add(BitmapAction.of(BitmapAction.Kind.CLEAR));
                case "enable" -> actions.add(BitmapAction.of(BitmapAction.Kind.ENABLE));
                case "disable" -> actions.add(BitmapAction.of(BitmapAction.Kind.DISABLE));
                case "merge" -> {
                    actions.add(BitmapAction.merge(o.arg()));
                    merge = true;
                }
                default -> {
                    return sharedOption(o, err);
                }
            }
        }
        if (actions.isEmpty()) {
            err.println("q2: Need at least one of --add, --remove, --clear, --enable, --disable, or --merge");
            return 1;
        }
        if (granularity != 0 && !add) {
            err.println("q2: granularity only supported with --add");
            return 1;
        }
        if (srcFmt != null && srcFile == null) {
            err.println("q2: -F only supported with -b");
            return 1;
        }
        if (srcFile != null && !merge) {
            err.println("q2: Merge bitmap source file only supported with --merge");
            return 1;
        }
        if (g.operands.size() != 2) {
            err.println("q2: Expecting filename and bitmap name");
            return 1;
        }
        String given = g.operands.get(0);
        dev.q2.block.ImageName imageName = ImageNames.plain(NAME, given, imageOpts, fmt, true, err);
        if (imageName == null) {
            return 1;
        }
        String filename = imageName.filename();
        fmt = imageName.format(fmt);
        Path file = main.resolve(filename);
        if (fmt == null && Files.isRegularFile(file)) {
            try {
                probeForWrite(filename, file, err);
            } catch (Exception e) {
                // the open below reports it
            }
        }
        BitmapEditor.Request req = new BitmapEditor.Request(file, fmt, g.operands.get(1), actions, granularity,
                srcFile != null ? main.resolve(srcFile) : null, srcFmt);
        try {
            BitmapEditor.run(req);
            return 0;
        } catch (BitmapOperationException e) {
            err.println("q2: " + e.getMessage());
            if (e.hint() != null) {
                err.println(e.hint());
            }
            return 1;
        } catch (BitmapEditor.OpenFailure e) {
            String name = e.file().equals(file) ? filename : srcFile;
            err.println("q2: " + Errors.imageOpenFailure(name, e.file(), e.getCause()));
            return 1;
        } catch (Exception e) {
            return Errors.report(err, Errors.describe(e), e);
        }
    }
}
