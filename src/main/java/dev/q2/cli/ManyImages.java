package dev.q2.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One command over several images in one call ({@code q2 check a b c}, {@code q2 info a b c}): the images are
 * processed in parallel on the machine's cores, each image's output is printed as qemu-img prints it for that
 * image, in the order given, and the exit code is the most severe one (see {@link #severity}).
 *
 * <p>Memory stays bounded: at most twice as many images as there are threads are in flight or waiting to be
 * printed, so a slow first image does not make q2 hold the results of all the others.
 */
final class ManyImages {
    /** What a command does for one image: prints to {@code out} and {@code err}, returns its exit code. */
    interface Job {
        int run(String filename, PrintWriter out, PrintWriter err) throws Exception;
    }

    private record Result(String out, String err, int exitCode) {
    }

    private ManyImages() {
    }

    /**
     * Runs {@code job} for every file and prints the outputs in order: human output one block per image, each
     * headed by {@code header(file)} (null for none) and separated by a blank line; JSON as one array of the
     * objects the images printed.
     */
    static int run(Path workDir, List<String> files, boolean json, boolean headed, Job job, PrintWriter out,
                   PrintWriter err) {
        int threads = Math.max(1, Math.min(files.size(), Runtime.getRuntime().availableProcessors()));
        if (!distinct(workDir, files)) {
            threads = 1; // the same image twice: one after the other, as a shell loop would (no lock conflict)
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "q2-image");
            t.setDaemon(true);
            return t;
        });
        int window = 2 * threads; // images in flight or waiting to be printed
        List<Future<Result>> results = new ArrayList<>();
        int worst = 0;
        List<String> objects = new ArrayList<>();
        int printed = 0;
        boolean anyBlock = false;
        try {
            for (int i = 0; i < files.size() || printed < files.size(); ) {
                if (i < files.size() && i - printed < window) {
                    String file = files.get(i++);
                    results.add(pool.submit(() -> runOne(job, file)));
                    continue;
                }
                Result r = results.get(printed).get();
                err.print(r.err());
                if (json) {
                    if (!r.out().isEmpty()) {
                        objects.add(r.out());
                    }
                } else {
                    String block = (headed ? "image: " + files.get(printed) + "\n" : "") + r.out();
                    if (!block.isEmpty()) {
                        out.print(anyBlock ? "\n" + block : block);
                        anyBlock = true;
                    }
                }
                out.flush();
                err.flush();
                worst = severity(worst, r.exitCode());
                printed++;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        } catch (java.util.concurrent.ExecutionException e) {
            err.println("q2: " + Errors.describe(e.getCause() instanceof Exception x ? x : e));
            return 1;
        } finally {
            pool.shutdownNow();
        }
        if (json) {
            out.print(jsonArray(objects));
            out.flush();
        }
        return worst;
    }

    private static Result runOne(Job job, String file) {
        StringWriter o = new StringWriter();
        StringWriter e = new StringWriter();
        try (PrintWriter po = new PrintWriter(o); PrintWriter pe = new PrintWriter(e)) {
            int rc;
            try {
                rc = job.run(file, po, pe);
            } catch (Exception x) { // this image's failure, reported in its place; the others go on
                pe.println("q2: " + Errors.describe(x));
                rc = 1;
            }
            po.flush();
            pe.flush();
            return new Result(o.toString(), e.toString(), rc);
        }
    }

    /**
     * The more severe of two exit codes: 1 (an error) over 2 (corruptions) over 3 (leaks) over 63 (not checkable)
     * over 0; any other code counts as an error.
     */
    static int severity(int a, int b) {
        return rank(a) >= rank(b) ? a : b;
    }

    private static int rank(int code) {
        return switch (code) {
            case 0 -> 0;
            case 63 -> 1;
            case 3 -> 2;
            case 2 -> 3;
            default -> 4;
        };
    }

    /** Pretty-printed JSON objects (QEMU's layout, 4 spaces a level) as one array in the same layout. */
    static String jsonArray(List<String> objects) {
        StringBuilder sb = new StringBuilder("[");
        for (int k = 0; k < objects.size(); k++) {
            sb.append(k == 0 ? "\n" : ",\n");
            String obj = objects.get(k).stripTrailing();
            for (String line : obj.split("\n", -1)) {
                sb.append("    ").append(line).append('\n');
            }
            sb.setLength(sb.length() - 1);
        }
        return sb.append("\n]\n").toString(); // an empty list too, as QEMU prints it ("[", "]")
    }

    private static boolean distinct(Path workDir, List<String> files) {
        Set<Path> seen = new HashSet<>();
        for (String f : files) {
            if (!seen.add(workDir.resolve(f).toAbsolutePath().normalize())) {
                return false;
            }
        }
        return true;
    }
}
