package dev.q2.bench;

import dev.q2.util.QDict;

/** What a bench run measured. */
public record BenchResult(long ops, long l2CacheHits, long l2CacheMisses, long l2BytesRead, long guestBytesWritten,
                          long hostBytesWritten, long cowBytes, double seconds, long l2CacheBytes,
                          int l2CacheEntrySize) {

    public double hitRatio() {
        long lookups = l2CacheHits + l2CacheMisses;
        return lookups == 0 ? 0 : (double) l2CacheHits / lookups;
    }

    public double writeAmplification() {
        return guestBytesWritten == 0 ? 0 : (double) hostBytesWritten / guestBytesWritten;
    }

    public double opsPerSecond() {
        return seconds <= 0 ? 0 : ops / seconds;
    }

    /** The JSON object q2 bench prints. */
    public QDict json() {
        QDict d = new QDict();
        d.putTrailing("ops", ops);
        d.putTrailing("l2-cache-size", l2CacheBytes);
        d.putTrailing("l2-cache-entry-size", l2CacheEntrySize);
        d.putTrailing("l2-cache-hits", l2CacheHits);
        d.putTrailing("l2-cache-misses", l2CacheMisses);
        d.putTrailing("l2-hit-ratio", round(hitRatio(), 6));
        d.putTrailing("l2-bytes-read", l2BytesRead);
        d.putTrailing("guest-bytes-written", guestBytesWritten);
        d.putTrailing("host-bytes-written", hostBytesWritten);
        d.putTrailing("write-amplification", round(writeAmplification(), 4));
        d.putTrailing("cow-bytes", cowBytes);
        d.putTrailing("seconds", round(seconds, 6));
        d.putTrailing("ops-per-second", round(opsPerSecond(), 1));
        return d;
    }

    private static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }
}
