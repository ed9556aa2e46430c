package dev.q2.util;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The library's phase marks reach the installed listener, in order, and nothing happens without one. */
class PhasesTest {
    @AfterEach
    void reset() {
        Phases.listen(null);
    }

    @Test
    void marksReachTheListener() {
        List<Phases.Timing> seen = new ArrayList<>();
        Phases.mark("before any listener");
        Phases.listen(seen::add);
        Phases.mark("start");
        Phases.mark("work");
        Phases.mark("end");
        assertThat(seen).extracting(Phases.Timing::phase).containsExactly("start", "work", "end");
        assertThat(seen).extracting(Phases.Timing::first).containsExactly(true, false, false);
        assertThat(seen.get(1).wallMillis()).isGreaterThanOrEqualTo(0);
        assertThat(seen.get(2).threadCpuMillis()).isGreaterThanOrEqualTo(0);
    }

    @Test
    void withoutAListenerAMarkDoesNothing() {
        Phases.listen(null);
        Phases.mark("nobody listens"); // no output, no failure
    }
}
