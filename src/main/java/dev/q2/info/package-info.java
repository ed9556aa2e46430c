/**
 * What qemu-img info reports about an image (QEMU's ImageInfo members in qemu-img's order), the chain walk of
 * --backing-chain, and the L2 cache section q2 adds. Library users call {@link dev.q2.Qcow2#info(java.nio.file.Path,
 * boolean)} and {@link dev.q2.Qcow2#cacheReport(java.nio.file.Path, boolean)}.
 */
package dev.q2.info;
