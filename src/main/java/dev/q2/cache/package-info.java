/**
 * The qcow2 L2 table cache as QEMU sizes and uses it: an LRU cache of L2 table slices with write-back of dirty slices,
 * and the arithmetic of L2 cache sizing (entries per table, coverage, QEMU's defaults) that q2 info reports.
 */
package dev.q2.cache;
