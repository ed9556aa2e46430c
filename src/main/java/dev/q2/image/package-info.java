/**
 * An open qcow2 image: validated metadata ({@link dev.q2.image.Qcow2Metadata}), the guest-disk engine with its mapping,
 * copy-on-write, compressed writes, zero writes, discards and flush ordering ({@link dev.q2.image.Qcow2Disk}), refcount
 * allocation, persistent bitmaps and backing chains. Library users reach it through {@link
 * dev.q2.Qcow2#open(java.nio.file.Path, dev.q2.OpenOptions)}.
 */
package dev.q2.image;
