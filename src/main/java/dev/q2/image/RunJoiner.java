package dev.q2.image;

import java.io.IOException;

/** Joins ranges that arrive in order into runs as long as possible, and hands each run to a sink. */
final class RunJoiner {
    private final PersistentBitmaps.RangeSink sink;
    private long runStart = -1;
    private long runEnd = -1;

    RunJoiner(PersistentBitmaps.RangeSink sink) {
        this.sink = sink;
    }

    void add(long from, long to) throws IOException {
        if (from == runEnd) {
            runEnd = to;
            return;
        }
        finish();
        runStart = from;
        runEnd = to;
    }

    /** Hands over the run in progress, if any. */
    void finish() throws IOException {
        if (runStart >= 0) {
            sink.accept(runStart, runEnd);
        }
    }
}
