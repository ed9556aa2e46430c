package dev.q2.bench;

/**
 * A synthetic guest workload.
 *
 * @param random uniformly random offsets (aligned to the I/O size) instead of sequential ones
 * @param write writes (a pattern byte per operation) instead of reads
 * @param ioSize bytes per operation
 * @param count operations measured
 * @param warmup operations run first and not counted (they fill the cache)
 * @param seed makes random runs repeatable
 * @param offset start of the guest range used
 * @param length length of the guest range used (0: to the end of the disk)
 */
public record BenchSpec(boolean random, boolean write, int ioSize, long count, long warmup, long seed, long offset,
                        long length) {
}
