package dev.q2.util;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Per-phase timings for performance work: the library {@link #mark marks} the end of its phases (open, walk,
 * write, ...); a {@link Listener} installed with {@link #listen} is told, for the phase since the previous mark, the
 * wall time, the CPU time of the calling thread and that of the whole process (JIT and GC threads included), from
 * Linux's /proc. Nothing prints here: the command line installs a printer with {@code -Dq2.phases=true}
 * (docs/performance.md). Without a listener a mark costs one static field read.
 */
public final class Phases {
    /** What one phase cost. */
    public record Timing(String phase, boolean first, double wallMillis, double threadCpuMillis,
                         long processCpuMillis) {
    }

    /** Told of each mark; called on the marking thread. */
    public interface Listener {
        void phase(Timing timing);
    }

    private static Listener listener;
    private static long last;
    private static long lastThread;
    private static long lastProcess;

    private Phases() {
    }

    /**
     * Installs {@code l} (null: none) for the marks that follow; its first mark reports the process CPU time so far.
     * Meant for a program's start (the fields are not synchronized).
     */
    public static void listen(Listener l) {
        last = 0;
        listener = l;
    }

    /** Ends the phase called {@code phase}: the listener, if any, is told what it cost. */
    public static void mark(String phase) {
        Listener l = listener;
        if (l != null) {
            long now = System.nanoTime();
            long thread = threadCpu();
            long process = processCpu();
            Timing t = last != 0
                    ? new Timing(phase, false, (now - last) / 1e6, (thread - lastThread) / 1e6, process - lastProcess)
                    : new Timing(phase, true, 0, 0, process);
            last = now;
            lastThread = thread;
            lastProcess = process;
            l.phase(t);
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
