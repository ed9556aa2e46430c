/**
 * Where images' bytes live: the {@link dev.q2.io.Storage} interface (positioned reads and writes, size, flush) with a
 * file implementation ({@link dev.q2.io.FileStorage}) and an in-memory one ({@link dev.q2.io.MemoryStorage}); {@link
 * dev.q2.io.ImageFile}, q2's positioned I/O over a storage; QEMU-compatible byte-range locking of files; and the
 * optional JNI helper for sparse-file operations.
 */
package dev.q2.io;
