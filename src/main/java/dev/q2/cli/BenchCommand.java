package dev.q2.cli;

import dev.q2.bench.Bench;
import dev.q2.bench.BenchResult;
import dev.q2.bench.BenchSpec;
import dev.q2.image.DiskOptions;
import dev.q2.image.Qcow2Disk;
import dev.q2.util.QJson;
import dev.q2.util.Sizes;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintWriter;
import java.util.Locale;

/** q2 bench: a synthetic guest workload through the engine, reporting what the L2 cache and subclusters buy. */
final class BenchCommand extends Subcommand {
    static final String NAME = "bench";

    private final OptionSpec outputOpt = Options.output();
    private final OptionSpec patternOpt = Options.value("P", "random (default) or sequential", "--pattern");
    private final OptionSpec rwOpt = Options.value("RW", "read (default) or write", "--rw");
    private final OptionSpec ioSizeOpt = Options.value("SIZE", "Bytes per operation (default 4k)", "--io-size");
    private final OptionSpec countOpt = OptionSpec.builder("--count").type(long.class).paramLabel("N")
            .description("Operations measured (default 10000)").build();
    private final OptionSpec warmupOpt = OptionSpec.builder("--warmup").type(long.class).paramLabel("N")
            .description("Operations run first, not counted (default 0)").build();
    private final OptionSpec seedOpt = OptionSpec.builder("--seed").type(long.class).paramLabel("N")
            .description("Random seed (default 1)").build();
    private final OptionSpec offsetOpt = Options.value("OFF", "Start of the guest range (default 0)", "--offset");
    private final OptionSpec lengthOpt =
            Options.value("LEN", "Length of the guest range (default: to the end)", "--length");
    private final OptionSpec l2CacheSizeOpt =
            Options.value("SIZE", "L2 cache capacity (default: whole-disk coverage, at most 32 MiB, as QEMU)", "--l2-cache-size");
    private final OptionSpec l2CacheEntrySizeOpt =
            Options.value("SIZE", "Bytes per cache entry, a slice of an L2 table (default: the cluster size)", "--l2-cache-entry-size");
    private final PositionalParamSpec filenameParam = Options.positional("0", "1", "FILENAME");

    String output = "human";
    String pattern = "random";
    String rw = "read";
    String ioSize = "4k";
    long count = 10_000;
    long warmup;
    long seed = 1;
    String offset = "0";
    String length = "0";
    String l2CacheSize;
    String l2CacheEntrySize;
    String filename;

    BenchCommand(Main main) {
        super(main, NAME);
        declare("Measure L2 cache hits and write amplification of a synthetic workload", outputOpt, patternOpt, rwOpt,
                ioSizeOpt, countOpt, warmupOpt, seedOpt, offsetOpt, lengthOpt, l2CacheSizeOpt, l2CacheEntrySizeOpt,
                filenameParam);
    }

    @Override
    public Integer call() {
        ParseResult parsed = parsed();
        output = Options.valueOr(outputOpt, output);
        pattern = Options.valueOr(patternOpt, pattern);
        rw = Options.valueOr(rwOpt, rw);
        ioSize = Options.valueOr(ioSizeOpt, ioSize);
        count = Options.valueOr(countOpt, count);
        warmup = Options.valueOr(warmupOpt, warmup);
        seed = Options.valueOr(seedOpt, seed);
        offset = Options.valueOr(offsetOpt, offset);
        length = Options.valueOr(lengthOpt, length);
        l2CacheSize = Options.valueOr(l2CacheSizeOpt, l2CacheSize);
        l2CacheEntrySize = Options.valueOr(l2CacheEntrySizeOpt, l2CacheEntrySize);
        filename = filenameParam.getValue();
        PrintWriter out = out();
        PrintWriter err = err();
        BenchSpec b;
        long cacheBytes;
        int entry;
        try {
            if (!output.equals("human") && !output.equals("json")) {
                throw new IllegalArgumentException("--output must be human or json");
            }
            if (!pattern.equals("random") && !pattern.equals("sequential")) {
                throw new IllegalArgumentException("--pattern must be random or sequential");
            }
            if (!rw.equals("read") && !rw.equals("write")) {
                throw new IllegalArgumentException("--rw must be read or write");
            }
            long io = size(ioSize, "--io-size");
            if (io < 1 || io > (64 << 20)) {
                throw new IllegalArgumentException("--io-size must be between 1 byte and 64 MiB");
            }
            if (count < 0 || warmup < 0) {
                throw new IllegalArgumentException("--count and --warmup must not be negative");
            }
            cacheBytes = l2CacheSize == null ? 0 : size(l2CacheSize, "--l2-cache-size");
            entry = l2CacheEntrySize == null ? 0 : (int) Math.min(Integer.MAX_VALUE,
                    size(l2CacheEntrySize, "--l2-cache-entry-size"));
            b = new BenchSpec(pattern.equals("random"), rw.equals("write"), (int) io, count, warmup, seed,
                    size(offset, "--offset"), size(length, "--length"));
        } catch (IllegalArgumentException e) {
            err.println("q2: " + e.getMessage());
            return 1;
        }
        DiskOptions opt = (b.write() ? DiskOptions.readWrite() : DiskOptions.readOnly()).withL2Cache(cacheBytes, entry)
                .withWorkDir(main.workDir());
        Qcow2Disk disk;
        try {
            disk = Qcow2Disk.open(main.resolve(filename), opt);
        } catch (Exception e) {
            err.println("q2: " + Errors.couldNotOpen(filename, e));
            return 1;
        }
        try (disk) {
            BenchResult r = Bench.run(disk, b);
            if (output.equals("json")) {
                out.println(QJson.pretty(r.json()));
            } else {
                human(out, r);
            }
            return 0;
        } catch (Exception e) {
            err.println("q2: " + Errors.describe(e));
            return 1;
        } finally {
            out.flush();
        }
    }

    private static long size(String s, String what) {
        try {
            long v = Sizes.parse(s).value();
            if (v < 0) {
                throw new IllegalArgumentException(what + ": size out of range: " + s);
            }
            return v;
        } catch (Sizes.SizeFormatException e) {
            throw new IllegalArgumentException(what + ": invalid size '" + s + "'");
        }
    }

    private static void human(PrintWriter out, BenchResult r) {
        out.printf(Locale.ROOT, "ops:                 %d%n", r.ops());
        out.printf(Locale.ROOT, "l2 cache:            %s in entries of %s%n", Sizes.humanSize(r.l2CacheBytes()),
                Sizes.humanSize(r.l2CacheEntrySize()));
        out.printf(Locale.ROOT, "l2 cache hits:       %d%n", r.l2CacheHits());
        out.printf(Locale.ROOT, "l2 cache misses:     %d%n", r.l2CacheMisses());
        out.printf(Locale.ROOT, "l2 hit ratio:        %.4f%n", r.hitRatio());
        out.printf(Locale.ROOT, "l2 bytes read:       %d%n", r.l2BytesRead());
        out.printf(Locale.ROOT, "guest bytes written: %d%n", r.guestBytesWritten());
        out.printf(Locale.ROOT, "host bytes written:  %d%n", r.hostBytesWritten());
        out.printf(Locale.ROOT, "write amplification: %.2f%n", r.writeAmplification());
        out.printf(Locale.ROOT, "cow bytes:           %d%n", r.cowBytes());
        out.printf(Locale.ROOT, "ops per second:      %.0f%n", r.opsPerSecond());
    }
}
