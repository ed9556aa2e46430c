/**
 * Consistency checks and repairs of qcow2 images, as qemu-img check does them: header and table checks, reference
 * counting of every cluster, leaks and corruptions, repairs (-r leaks, -r all), refcount rebuilding and snapshot-table
 * fixes. Library users call {@link dev.q2.Qcow2#check(java.nio.file.Path, dev.q2.Repair)} instead.
 */
package dev.q2.check;
