/**
 * Block status of a backing chain and qemu-img map's allocation map: opening a chain of qcow2 and raw images, answering
 * which layer allocates each run and how, and merging runs as qemu-img map does. Library users call {@link
 * dev.q2.Qcow2#map(java.nio.file.Path, boolean)}.
 */
package dev.q2.map;
