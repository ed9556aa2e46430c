/**
 * The qcow2 on-disk structures and nothing else: immutable values for the header, header extensions, L1 and L2 entries
 * (standard and extended), compressed descriptors, refcount blocks, snapshot entries and bitmap directory entries,
 * decoded from and encoded to big-endian bytes, with the spec's validation rules. No I/O.
 */
package dev.q2.format;
