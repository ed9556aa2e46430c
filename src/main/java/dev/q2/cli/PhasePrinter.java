package dev.q2.cli;

import dev.q2.util.Phases;

/**
 * Prints the library's phase timings ({@link Phases}) to standard error, one line a phase, when q2 runs with
 * {@code -Dq2.phases=true} (e.g. through {@code Q2_JAVA_OPTS}). Loaded only then.
 */
final class PhasePrinter implements Phases.Listener {
    private PhasePrinter() {
    }

    static void install() {
        Phases.listen(new PhasePrinter());
    }

    @Override
    public void phase(Phases.Timing t) {
        if (t.first()) {
            System.err.printf("q2.phases %-28s process cpu so far %5d ms%n", t.phase(), t.processCpuMillis());
        } else {
            System.err.printf("q2.phases %-28s wall %7.1f ms  thread cpu %7.1f ms  process cpu %5d ms%n", t.phase(),
                    t.wallMillis(), t.threadCpuMillis(), t.processCpuMillis());
        }
    }
}
