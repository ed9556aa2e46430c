/**
 * Benchmarks of the engine's read and write paths on a real image (q2 bench, modelled on qemu-img bench): the request
 * pattern, the run and its result. Used by the command line; not a stable API.
 */
package dev.q2.bench;
