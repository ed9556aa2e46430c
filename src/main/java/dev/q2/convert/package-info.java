/**
 * Image conversion as qemu-img convert does it: copying guest data from a source chain to a qcow2 or raw target,
 * skipping zeros, compressing clusters, read-ahead and parallel compression.
 */
package dev.q2.convert;
