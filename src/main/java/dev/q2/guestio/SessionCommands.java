package dev.q2.guestio;

import dev.q2.create.Preallocation;
import dev.q2.image.Qcow2Disk;
import dev.q2.resize.Resizer;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * qemu-io's commands that change which image is open or how: {@code open}, {@code reopen}, {@code truncate} and
 * {@code sigraise}. q2 io reopens by closing the image (cleanly, as QEMU's reopen to read-only or its flush would
 * leave it) and opening it again with the new options, after checking them all, so that a refused reopen changes
 * nothing; a truncate closes the image, resizes it as qemu-img resize does (without --shrink's check: qemu-io's
 * truncate shrinks freely) and opens it again.
 */
final class SessionCommands {
    /** Node names: q2 io has no block graph to name, but takes them so that reopen can be given them again. */

    private final IoScript script;

    SessionCommands(IoScript script) {
        this.script = script;
    }

    /**
     * {@code open [-rsCnkU] [-t cache] [-i aio] [-o options] FILE}: qemu-io's open of another image once the current
     * one is closed. -d (discard mode) and block options other than the driver, the cache sizes and lazy-refcounts
     * are refused.
     */
    void open(List<String> words) {
        if (!script.argCount("open", words, 1, -1)) {
            return;
        }
        IoArgs.Parsed p = IoCommand.OPEN.getopt(words);
        boolean readOnly = p.has('r');
        String cache = p.options().getOrDefault('t', p.has('n') ? "none" : "writeback");
        Boolean writethrough = writethrough(cache);
        if (writethrough == null) {
            script.failErr("q2: Invalid cache option: " + cache);
            return;
        }
        boolean direct = List.of("none", "off", "directsync").contains(cache);
        String aio = p.options().getOrDefault('i', p.has('k') ? "native" : "threads");
        if (!aio.equals("threads") && !aio.equals("native") && !aio.equals("io_uring")) {
            script.failErr("q2: Invalid aio option: " + aio);
            return;
        }
        if (p.operands().size() > 1) {
            throw new IoArgs.UsageException(null, IoCommand.OPEN.usage);
        }
        if (script.disk() != null) {
            script.failErr("q2: file open already, try 'help close'");
            return;
        }
        String name = p.operands().isEmpty() ? null : p.operands().get(0);
        Map<String, String> options = new LinkedHashMap<>();
        if (p.options().get('o') != null) {
            try {
                // all of them, read as QemuOpts; the opener's block.ImageName gives them their meaning or refuses
                options = dev.q2.block.BlockOptions.fromQemuOpts(p.options().get('o'), null);
            } catch (dev.q2.image.ImageException e) {
                script.failErr("q2: " + e.getMessage());
                return;
            }
        }
        if (name == null && options.isEmpty()) {
            // qemu-io then opens what the -o options describe; with none, this line
            script.failErr("q2: can't open: Must specify either driver or file");
            return;
        }
        String format = null;
        String device = name == null ? "" : " device " + name;
        String lazy = options.get("lazy-refcounts");
        if (lazy != null && !lazy.equals("on") && !lazy.equals("off")) {
            script.failErr("q2: can't open" + device + ": Parameter 'lazy-refcounts' expects 'on' or 'off'");
            return;
        }
        if (p.has('U') && !readOnly) {
            script.failErr("q2: can't open" + device + ": force-share=on can only be used with read-only images");
            return;
        }
        if (aio.equals("native") && !direct) {
            script.failErr("q2: can't open" + device
                    + ": aio=native was specified, but it requires cache.direct=on, which was not specified.");
            return;
        }
        if (!script.openWith(new OpenSpec(name, format, options, readOnly, p.has('U'), p.has('s'), p.has('C')))) {
            script.markFailed();
            return;
        }
        script.writethrough(writethrough);
    }

    /** qemu's cache modes: whether the mode writes through (every write flushed), or null for no such mode. */
    static Boolean writethrough(String mode) {
        return switch (mode) {
            case "writethrough", "directsync" -> true;
            case "none", "off", "writeback", "unsafe" -> false;
            default -> null;
        };
    }

    /** {@code reopen [(-r|-w)] [-c cache] [-o options]}. */
    void reopen(List<String> words) throws IOException {
        IoArgs.Parsed p;
        Boolean readOnly = null;
        String cache = null;
        Map<String, String> opts = new HashMap<>();
        // qemu-io reads the options one by one: -r/-w twice and a bad cache mode are refused on the spot
        p = IoCommand.REOPEN.getopt(words);
        for (Map.Entry<Character, String> o : p.ordered()) {
            switch (o.getKey()) {
                case 'r', 'w' -> {
                    if (readOnly != null) {
                        script.failErr("q2: Only one -r/-w option may be given");
                        return;
                    }
                    readOnly = o.getKey() == 'r';
                }
                case 'c' -> {
                    if (writethrough(o.getValue()) == null) {
                        script.failErr("q2: Invalid cache option: " + o.getValue());
                        return;
                    }
                    cache = o.getValue();
                }
                default -> {
                    List<String> warnings = new ArrayList<>();
                    opts.putAll(RuntimeOptions.parse(o.getValue(), warnings));
                    for (String w : warnings) {
                        script.err().println("q2: " + w);
                    }
                }
            }
        }
        if (!p.operands().isEmpty()) {
            throw new IoArgs.UsageException(null, IoCommand.REOPEN.usage);
        }
        if (readOnly != null && opts.containsKey("read-only")) {
            script.failErr("q2: Cannot set both -r/-w and 'read-only'");
            return;
        }
        if (cache != null && (opts.containsKey("cache.direct") || opts.containsKey("cache.no-flush"))) {
            script.failErr("q2: Cannot set both -c and the cache options");
            return;
        }
        OpenSpec now = script.opened();
        GuestDisk disk = script.disk();
        Qcow2Disk q = disk.qcow2();
        try {
            RuntimeOptions.check(opts, now.options(), disk.format(),
                    q == null ? 512 : q.header().clusterSize(), disk.size(),
                    q == null ? 8 : q.header().extendedL2() ? 16 : 8, q == null ? 3 : q.header().version(),
                    q == null || q.backing() == null ? null : backingFormat(q));
        } catch (RuntimeOptions.Refused e) {
            script.failErr("q2: " + e.getMessage());
            return;
        }
        boolean ro = readOnly != null ? readOnly
                : opts.containsKey("read-only") ? opts.get("read-only").equals("on") : now.readOnly();
        // the options q2's engine honours; the cache sizes are one group, as qcow2_join_options takes them: given
        // anew, none of the old ones is kept
        List<String> cacheGroup = List.of("cache-size", "l2-cache-size", "refcount-cache-size");
        Map<String, String> kept = new HashMap<>();
        for (String k : List.of("lazy-refcounts", "cache-size", "l2-cache-size", "refcount-cache-size",
                "l2-cache-entry-size")) {
            if (opts.containsKey(k)) {
                kept.put(k, opts.get(k));
            }
        }
        OpenSpec base = now;
        if (opts.containsKey("cache-size") || opts.containsKey("l2-cache-size")
                || opts.containsKey("refcount-cache-size")) {
            Map<String, String> without = new HashMap<>(now.options());
            without.keySet().removeAll(cacheGroup);
            base = new OpenSpec(now.name(), now.format(), without, now.readOnly(), now.forceShare(), now.snapshot(),
                    now.copyOnRead());
        }
        OpenSpec next = base.withReadOnly(ro).withOptions(kept);
        if (!next.equals(now) && !script.reopenAs(next)) {
            return;
        }
        if (cache != null) {
            script.writethrough(writethrough(cache));
        }
    }

    private static String backingFormat(Qcow2Disk q) {
        return q.backing() instanceof Qcow2Disk ? "qcow2" : "raw";
    }

    /** {@code truncate [-m prealloc_mode] off}: blk_truncate with the mode (default off). */
    void truncate(List<String> words) throws IOException {
        if (!script.argCount("truncate", words, 1, 3) || !script.permitted("truncate")) {
            return;
        }
        IoArgs.Parsed p = IoCommand.TRUNCATE.getopt(words);
        Preallocation prealloc = Preallocation.OFF;
        String mode = p.options().get('m');
        if (mode != null) {
            prealloc = Preallocation.fromOption(mode);
            if (prealloc == null) {
                script.failErr("q2: Invalid preallocation mode '" + mode + "'");
                return;
            }
        }
        if (p.operands().isEmpty()) {
            throw new IoArgs.UsageException(null, IoCommand.TRUNCATE.usage);
        }
        long size = IoScript.number(p.operands().get(0));   // (qemu-io ignores further operands)
        OpenSpec spec = script.opened();
        java.nio.file.Path file = script.hostFile();
        String format = script.disk().format();
        script.closeForReopen();
        PrintWriter err = script.err();
        try (Resizer.Open r = Resizer.open(file, format, err)) {
            r.resize(size, prealloc);
        } catch (dev.q2.Q2Exception e) {
            script.failErr("q2: " + e.getMessage());
        } finally {
            if (!script.openAgain(spec)) {
                script.markFailed();
            }
        }
    }

    /**
     * {@code sigraise SIGNAL}: qemu-io raises the signal on itself. q2 io emulates the signals that end qemu-io (all
     * but those QEMU ignores or handles, and the stop signals) by halting at once, without closing the image: what
     * was written and flushed is on disk, nothing else (no clean close, no dirty bit cleared), and the exit status
     * is 128 + SIGNAL as a shell reports a process killed by it.
     */
    void sigraise(List<String> words) {
        if (!script.argCount("sigraise", words, 1, 1)) {
            return;
        }
        String arg = words.get(0);
        long sig;
        try {
            sig = IoScript.number(arg);
        } catch (IllegalArgumentException e) {
            script.fail(e.getMessage());
            return;
        }
        if (sig > 65) {   // NSIG
            script.fail("signal argument '" + arg + "' is too large to be a valid signal");
            return;
        }
        // 0 and NSIG: raise fails quietly; SIGUSR1, SIGPIPE, SIGALRM, SIGCHLD, SIGCONT, SIGURG, SIGWINCH, SIGIO:
        // QEMU ignores or handles them; SIGSTOP and the terminal stop signals would stop the process (q2 io does not)
        if (List.of(0L, 10L, 13L, 14L, 17L, 18L, 19L, 20L, 21L, 22L, 23L, 28L, 29L, 65L).contains(sig)) {
            return;
        }
        script.drainStdout();
        script.err().flush();
        script.halt((int) (128 + sig));
    }
}
