package dev.q2.cli;

import dev.q2.bench.Bench;
import dev.q2.bench.BenchResult;
import dev.q2.bench.BenchSpec;
import dev.q2.image.DiskOptions;
import dev.q2.image.Qcow2Disk;
import dev.q2.util.QJson;
import dev.q2.util.Sizes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;

/** q2 bench: a synthetic guest workload through the engine, reporting what the L2 cache and subclusters buy. */
@Command(name = "bench", description = "Measure L2 cache hits and write amplification of a synthetic workload",
        sortOptions = false)
public final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @ParentCommand
    Main main;

    @Option(names = "--output", paramLabel = "FMT", description = "human (default) or json")
    String output = "human";

    @Option(names = "--pattern", paramLabel = "P", description = "random (default) or sequential")
    String pattern = "random";

    @Option(names = "--rw", paramLabel = "RW", description = "read (default) or write")
    String rw = "read";

    @Option(names = "--io-size", paramLabel = "SIZE", description = "Bytes per operation (default 4k)")
    String ioSize = "4k";

    @Option(names = "--count", paramLabel = "N", description = "Operations measured (default 10000)")
    long count = 10_000;

    @Option(names = "--warmup", paramLabel = "N", description = "Operations run first, not counted (default 0)")
    long warmup;

    @Option(names = "--seed", paramLabel = "N", description = "Random seed (default 1)")
    long seed = 1;

    @Option(names = "--offset", paramLabel = "OFF", description = "Start of the guest range (default 0)")
    String offset = "0";

    @Option(names = "--length", paramLabel = "LEN", description = "Length of the guest range (default: to the end)")
    String length = "0";

    @Option(names = "--l2-cache-size", paramLabel = "SIZE",
            description = "L2 cache capacity (default: whole-disk coverage, at most 32 MiB, as QEMU)")
    String l2CacheSize;

    @Option(names = "--l2-cache-entry-size", paramLabel = "SIZE",
            description = "Bytes per cache entry, a slice of an L2 table (default: the cluster size)")
    String l2CacheEntrySize;

    @Parameters(index = "0", paramLabel = "FILENAME")
    String filename;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
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
        DiskOptions opt = (b.write() ? DiskOptions.readWrite() : DiskOptions.readOnly()).withL2Cache(cacheBytes, entry);
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
