package dev.q2.util;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Per-phase timings for performance work: with {@code -Dq2.phases=true} (e.g. through {@code Q2_JAVA_OPTS}),
 * {@link #mark} prints to standard error, for the phase since the previous mark, the wall time, the CPU time of the
 * calling thread and that of the whole process (JIT and GC threads included), from Linux's /proc
 * (docs/performance.md). Off, a mark costs one static field read.
 */
public final class Phases {
    private static final boolean ON = Boolean.getBoolean("q2.phases");
    private static long last;
    private static long lastThread;
    private static long lastProcess;

    private Phases() {
    }

    public static void mark(String phase) {
        if (ON) {
            long now = System.nanoTime();
            long thread = threadCpu();
            long process = processCpu();
            if (last != 0) {
                System.err.printf("q2.phases %-28s wall %7.1f ms  thread cpu %7.1f ms  process cpu %5d ms%n", phase,
                        (now - last) / 1e6, (thread - lastThread) / 1e6, process - lastProcess);
            } else {
                System.err.printf("q2.phases %-28s process cpu so far %5d ms%n", phase, process);
            }
            last = now;
            lastThread = thread;
            lastProcess = process;
        }
    }

    private static long threadCpu() {
        try {
            return Long.parseLong(Files.readString(Path.of("/proc/thread-self/schedstat")).split(" ")[0]);
        } catch (Exception e) {
            return 0;
        }
    }

    /** utime + stime of the process in milliseconds (clock ticks of 10 ms). */
    private static long processCpu() {
        try {
            String s = Files.readString(Path.of("/proc/self/stat"));
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10;
        } catch (Exception e) {
            return 0;
        }
    }
}
