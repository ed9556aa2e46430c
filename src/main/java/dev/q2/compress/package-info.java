/**
 * Cluster compression codecs for compressed qcow2 clusters: zlib with QEMU's raw deflate and 4 KiB window (JZlib) and
 * zstd (zstd-jni), behind one {@link dev.q2.compress.ClusterCodec} interface.
 */
package dev.q2.compress;
